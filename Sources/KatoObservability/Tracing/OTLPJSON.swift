import StrictJSON
import Tracing

/// OTLP/HTTP's JSON encoding of an `ExportTraceServiceRequest`
/// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): the proto3 JSON
/// mapping with OTLP's exceptions — trace and span ids as hex, enums as integers — and
/// 64-bit integers (times, `intValue`) as strings.
enum OTLPJSON {
    struct Resource: Sendable {
        var serviceName: String
        var scopeName = "kato-server"
    }

    static func exportRequest(_ spans: some Collection<OTLPSpanData>, resource: Resource) -> String {
        var out = ""
        out.reserveCapacity(256 + spans.count * 700)
        out += #"{"resourceSpans":[{"resource":{"attributes":["#
        attribute("service.name", .string(resource.serviceName), into: &out)
        out += ","
        attribute("telemetry.sdk.language", .string("swift"), into: &out)
        out += #"]},"scopeSpans":[{"scope":{"name":"#
        string(resource.scopeName, into: &out)
        out += #"},"spans":["#
        var first = true
        for span in spans {
            if !first { out += "," }
            first = false
            self.span(span, into: &out)
        }
        out += "]}]}]}"
        return out
    }

    static func span(_ span: OTLPSpanData, into out: inout String) {
        out += #"{"traceId":""# + span.context.traceID + #"","spanId":""# + span.context.spanID + #"""#
        if let parent = span.parentSpanID { out += #","parentSpanId":""# + parent + #"""# }
        if let state = span.context.traceState {
            out += #","traceState":"#
            string(state, into: &out)
        }
        out += #","name":"#
        string(span.name, into: &out)
        out += #","kind":\#(kind(span.kind)),"startTimeUnixNano":"\#(span.start)","endTimeUnixNano":"\#(span.end)","attributes":"#
        attributes(span.attributes, into: &out)
        if !span.events.isEmpty {
            out += #","events":["#
            for (i, event) in span.events.enumerated() {
                if i > 0 { out += "," }
                out += #"{"timeUnixNano":"\#(event.nanosecondsSinceEpoch)","name":"#
                string(event.name, into: &out)
                out += #","attributes":"#
                attributes(event.attributes, into: &out)
                out += "}"
            }
            out += "]"
        }
        if !span.links.isEmpty {
            out += #","links":["#
            for (i, link) in span.links.enumerated() {
                if i > 0 { out += "," }
                out += #"{"traceId":""# + link.traceID + #"","spanId":""# + link.spanID + #""}"#
            }
            out += "]"
        }
        // Status codes: 0 unset, 1 ok, 2 error.
        switch span.status?.code {
        case .ok?: out += #","status":{"code":1}"#
        case .error?:
            out += #","status":{"code":2"#
            if let message = span.status?.message {
                out += #","message":"#
                string(message, into: &out)
            }
            out += "}"
        case nil: out += #","status":{}"#
        }
        out += "}"
    }

    /// SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    static func attributes(_ attributes: SpanAttributes, into out: inout String) {
        out += "["
        var first = true
        attributes.forEach { key, value in
            if !first { out += "," }
            first = false
            attribute(key, value, into: &out)
        }
        out += "]"
    }

    static func attribute(_ key: String, _ value: SpanAttribute, into out: inout String) {
        out += #"{"key":"#
        string(key, into: &out)
        out += #","value":"#
        anyValue(value, into: &out)
        out += "}"
    }

    static func anyValue(_ value: SpanAttribute, into out: inout String) {
        func array<T>(_ values: [T], _ element: (T) -> SpanAttribute) {
            out += #"{"arrayValue":{"values":["#
            for (i, v) in values.enumerated() {
                if i > 0 { out += "," }
                anyValue(element(v), into: &out)
            }
            out += "]}}"
        }
        switch value {
        case .int32(let v): out += #"{"intValue":"\#(v)"}"#
        case .int64(let v): out += #"{"intValue":"\#(v)"}"#
        case .double(let v):
            if v.isFinite {
                out += #"{"doubleValue":\#(v)}"#
            } else {
                out += #"{"doubleValue":""# + (v.isNaN ? "NaN" : v > 0 ? "Infinity" : "-Infinity") + #""}"#
            }
        case .bool(let v): out += #"{"boolValue":\#(v)}"#
        case .string(let v):
            out += #"{"stringValue":"#
            string(v, into: &out)
            out += "}"
        case .int32Array(let v): array(v) { .int32($0) }
        case .int64Array(let v): array(v) { .int64($0) }
        case .doubleArray(let v): array(v) { .double($0) }
        case .boolArray(let v): array(v) { .bool($0) }
        case .stringArray(let v): array(v) { .string($0) }
        case .stringConvertibleArray(let v): array(v) { .string($0.description) }
        case .stringConvertible(let v):
            out += #"{"stringValue":"#
            string(v.description, into: &out)
            out += "}"
        default:
            out += #"{"stringValue":"#
            string("\(value)", into: &out)
            out += "}"
        }
    }

    /// A JSON string literal: the shared escaping of StrictJSON.
    static func string(_ text: String, into out: inout String) {
        JSONPrinter.quote(text, into: &out)
    }
}
