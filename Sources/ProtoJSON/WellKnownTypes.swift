import ProtoWire
import StrictJSON

/// The well-known types whose proto3 JSON form is not a plain object of their fields.
public enum WellKnownType: String, Sendable {
    case any = "google.protobuf.Any"
    case timestamp = "google.protobuf.Timestamp"
    case duration = "google.protobuf.Duration"
    case `struct` = "google.protobuf.Struct"
    case value = "google.protobuf.Value"
    case listValue = "google.protobuf.ListValue"
    case fieldMask = "google.protobuf.FieldMask"
    case empty = "google.protobuf.Empty"
    case doubleValue = "google.protobuf.DoubleValue"
    case floatValue = "google.protobuf.FloatValue"
    case int64Value = "google.protobuf.Int64Value"
    case uint64Value = "google.protobuf.UInt64Value"
    case int32Value = "google.protobuf.Int32Value"
    case uint32Value = "google.protobuf.UInt32Value"
    case boolValue = "google.protobuf.BoolValue"
    case stringValue = "google.protobuf.StringValue"
    case bytesValue = "google.protobuf.BytesValue"

    public var isWrapper: Bool { rawValue.hasSuffix("Value") && self != .value && self != .listValue }

    /// The message name an Any's type URL names (the text after the last '/').
    public static func typeName(fromURL url: String) -> String {
        url.lastIndex(of: "/").map { String(url[url.index(after: $0)...]) } ?? url
    }
}

// MARK: JSON → wire

extension JSONToProto {
    public func encodeWellKnown(_ wkt: WellKnownType, _ json: JSONValue, _ message: MessageDescriptor, path: FieldPath) throws -> [UInt8] {
        var w = WireWriter()
        switch wkt {
        case .any:
            guard case .object(let members) = json else { throw CodecError(.wrongType, at: path, "expected a JSON object with \"@type\" for google.protobuf.Any, got \(json.kind)") }
            if members.isEmpty { return [] }
            guard case .string(let url)? = members.first(where: { $0.0 == "@type" })?.1 else {
                throw CodecError(.wrongType, at: path, "google.protobuf.Any needs a string \"@type\" member")
            }
            let inner = try pool.message(WellKnownType.typeName(fromURL: url))
            let rest = members.filter { $0.0 != "@type" }
            let payload: [UInt8]
            if WellKnownType(rawValue: inner.fullName) != nil {
                guard rest.count <= 1, let value = rest.first(where: { $0.0 == "value" })?.1 ?? (rest.isEmpty ? .object([]) : nil) else {
                    throw CodecError(.invalidValue, at: path, "an Any holding \(inner.fullName) takes its JSON form in \"value\"")
                }
                payload = try encodeMessage(value, inner, path: path.appending(field: "value"))
            } else {
                payload = try encodeMessage(.object(rest), inner, path: path)
            }
            w.tag(1, .lengthDelimited)
            w.lengthDelimited(Array(url.utf8))
            if !payload.isEmpty {
                w.tag(2, .lengthDelimited)
                w.lengthDelimited(payload)
            }
        case .timestamp:
            guard case .string(let s) = json else { throw CodecError(.wrongType, at: path, "expected an RFC 3339 string for google.protobuf.Timestamp, got \(json.kind)") }
            let (seconds, nanos) = try prefixed(path) { () throws(CodecError) in try TimeFormats.parseTimestamp(s) }
            writeSecondsNanos(seconds, nanos, into: &w)
        case .duration:
            guard case .string(let s) = json else { throw CodecError(.wrongType, at: path, "expected a string like \"1.5s\" for google.protobuf.Duration, got \(json.kind)") }
            let (seconds, nanos) = try prefixed(path) { () throws(CodecError) in try TimeFormats.parseDuration(s) }
            writeSecondsNanos(seconds, nanos, into: &w)
        case .struct:
            guard case .object(let members) = json else { throw CodecError(.wrongType, at: path, "expected a JSON object for google.protobuf.Struct, got \(json.kind)") }
            let value = try pool.message(WellKnownType.value.rawValue)
            for (key, item) in members {
                var entry = WireWriter()
                entry.tag(1, .lengthDelimited)
                entry.lengthDelimited(Array(key.utf8))
                entry.tag(2, .lengthDelimited)
                entry.lengthDelimited(try encodeMessage(item, value, path: path.appending(key: key)))
                w.tag(1, .lengthDelimited)
                w.lengthDelimited(entry.bytes)
            }
        case .listValue:
            guard case .array(let items) = json else { throw CodecError(.wrongType, at: path, "expected a JSON array for google.protobuf.ListValue, got \(json.kind)") }
            let value = try pool.message(WellKnownType.value.rawValue)
            for (i, item) in items.enumerated() {
                w.tag(1, .lengthDelimited)
                w.lengthDelimited(try encodeMessage(item, value, path: path.appending(index: i)))
            }
        case .value:
            switch json {
            case .null:
                w.tag(1, .varint)
                w.varint(0)
            case .number:
                w.tag(2, .fixed64)
                w.fixed64(try prefixed(path) { () throws(CodecError) in try ScalarFormats.double(json) }.bitPattern)
            case .string(let s):
                w.tag(3, .lengthDelimited)
                w.lengthDelimited(Array(s.utf8))
            case .bool(let b):
                w.tag(4, .varint)
                w.varint(b ? 1 : 0)
            case .object:
                w.tag(5, .lengthDelimited)
                w.lengthDelimited(try encodeMessage(json, try pool.message(WellKnownType.struct.rawValue), path: path))
            case .array:
                w.tag(6, .lengthDelimited)
                w.lengthDelimited(try encodeMessage(json, try pool.message(WellKnownType.listValue.rawValue), path: path))
            }
        case .fieldMask:
            guard case .string(let s) = json else { throw CodecError(.wrongType, at: path, "expected a string like \"a.b,c\" for google.protobuf.FieldMask, got \(json.kind)") }
            for p in s.split(separator: ",") where !p.isEmpty {
                // Only camelCase that a path comes from (no "_", no upper case after "."): the
                // decoder refuses the rest, so accepting it here would not round-trip.
                let snake = fieldMaskPath(fromJSON: p)
                guard defaultJSONName(snake) == p else {
                    throw CodecError(.invalidValue, at: path, "'\(p)' is not a google.protobuf.FieldMask path in proto3 JSON (lowerCamelCase)")
                }
                w.tag(1, .lengthDelimited)
                w.lengthDelimited(Array(snake.utf8))
            }
        case .empty:
            guard case .object(let members) = json, members.isEmpty else { throw CodecError(.wrongType, at: path, "expected {} for google.protobuf.Empty") }
        default:
            // Wrappers: the JSON form is the wrapped value itself.
            guard let field = message.field(number: 1) else { throw CodecError(.unknownType, at: path, "malformed wrapper type \(message.fullName)") }
            if case .null = json { return [] }
            var probe = WireWriter()
            try writeRaw(field, json, into: &probe, path: path)
            if !probe.bytes.allSatisfy({ $0 == 0 }) {
                w.tag(1, field.type.wireType)
                w.append(probe.bytes)
            }
        }
        return w.bytes
    }

    private func writeSecondsNanos(_ seconds: Int64, _ nanos: Int32, into w: inout WireWriter) {
        if seconds != 0 {
            w.tag(1, .varint)
            w.varint(UInt64(bitPattern: seconds))
        }
        if nanos != 0 {
            w.tag(2, .varint)
            w.varint(UInt64(bitPattern: Int64(nanos)))
        }
    }

    private func prefixed<T>(_ path: FieldPath, _ body: () throws(CodecError) -> T) throws(CodecError) -> T {
        do {
            return try body()
        } catch {
            throw CodecError(error.kind, at: path, error.reason)
        }
    }
}

// MARK: wire → JSON

extension ProtoToJSON {
    public func decodeWellKnown(_ wkt: WellKnownType, _ bytes: ArraySlice<UInt8>, _ message: MessageDescriptor, path: FieldPath) throws -> JSONValue {
        var reader = WireReader(bytes)
        switch wkt {
        case .any:
            var url = "", value: [UInt8] = []
            while let (field, v) = try reader.next() {
                if field == 1, case .bytes(let b) = v { url = String(decoding: b, as: UTF8.self) }
                if field == 2, case .bytes(let b) = v { value = Array(b) }
            }
            if url.isEmpty && value.isEmpty { return .object([]) }
            let inner = try pool.message(WellKnownType.typeName(fromURL: url))
            let decoded = try decodeMessage(value[...], inner, path: path)
            if WellKnownType(rawValue: inner.fullName) != nil {
                return .object([("@type", .string(url)), ("value", decoded)])
            }
            guard case .object(let members) = decoded else { return .object([("@type", .string(url))]) }
            return .object([("@type", .string(url))] + members)
        case .timestamp, .duration:
            var seconds: Int64 = 0, nanos: Int32 = 0
            while let (field, v) = try reader.next() {
                if field == 1, case .varint(let n) = v { seconds = Int64(bitPattern: n) }
                if field == 2, case .varint(let n) = v { nanos = Int32(truncatingIfNeeded: n) }
            }
            do {
                return .string(wkt == .timestamp
                    ? try TimeFormats.formatTimestamp(seconds: seconds, nanos: nanos)
                    : try TimeFormats.formatDuration(seconds: seconds, nanos: nanos))
            } catch {
                throw CodecError(error.kind, at: path, error.reason)
            }
        case .struct:
            let value = try pool.message(WellKnownType.value.rawValue)
            var members: [String: JSONValue] = [:]
            while let (field, v) = try reader.next() {
                guard field == 1, case .bytes(let entry) = v else { continue }
                var key = "", item: ArraySlice<UInt8> = []
                var er = WireReader(entry)
                while let (f, x) = try er.next() {
                    if f == 1, case .bytes(let b) = x { key = String(decoding: b, as: UTF8.self) }
                    if f == 2, case .bytes(let b) = x { item = b }
                }
                members[key] = try decodeMessage(item, value, path: path.appending(key: key))
            }
            return .object(members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        case .listValue:
            let value = try pool.message(WellKnownType.value.rawValue)
            var items: [JSONValue] = []
            while let (field, v) = try reader.next() {
                if field == 1, case .bytes(let b) = v { items.append(try decodeMessage(b, value, path: path.appending(index: items.count))) }
            }
            return .array(items)
        case .value:
            var result = JSONValue.null
            while let (field, v) = try reader.next() {
                switch (field, v) {
                case (1, .varint): result = .null
                case (2, .fixed64(let bits)): result = ScalarFormats.json(Double(bitPattern: bits))
                case (3, .bytes(let b)): result = .string(String(decoding: b, as: UTF8.self))
                case (4, .varint(let n)): result = .bool(n != 0)
                case (5, .bytes(let b)): result = try decodeMessage(b, try pool.message(WellKnownType.struct.rawValue), path: path)
                case (6, .bytes(let b)): result = try decodeMessage(b, try pool.message(WellKnownType.listValue.rawValue), path: path)
                default: break
                }
            }
            return result
        case .fieldMask:
            var paths: [String] = []
            while let (field, v) = try reader.next() {
                guard field == 1, case .bytes(let b) = v else { continue }
                let name = String(decoding: b, as: UTF8.self)
                let json = defaultJSONName(name)
                // A path JSON cannot carry (empty, a comma, upper case, "__", ...: its camelCase
                // does not come back to it) is refused, as protobuf's JSON printer refuses it.
                guard !name.isEmpty, !json.contains(","), fieldMaskPath(fromJSON: Substring(json)) == name else {
                    throw CodecError(.malformedBinary, at: path, "google.protobuf.FieldMask path '\(name)' has no proto3 JSON form")
                }
                paths.append(json)
            }
            return .string(paths.joined(separator: ","))
        case .empty:
            return .object([])
        default:
            guard let field = message.field(number: 1) else { throw CodecError(.unknownType, at: path, "malformed wrapper type \(message.fullName)") }
            var last: WireValue?
            while let (f, v) = try reader.next() {
                if f == 1 { last = v }
            }
            guard let last else { return defaultValue(field) }
            return try scalar(field, last, path: path)
        }
    }
}

/// A FieldMask path from its proto3 JSON (camelCase) form: `fooBar.baz` → `foo_bar.baz`.
func fieldMaskPath(fromJSON camel: Substring) -> String {
    var snake = ""
    for c in camel {
        if c.isUppercase { snake += "_" + c.lowercased() } else { snake.append(c) }
    }
    return snake
}
