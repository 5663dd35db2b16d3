import Foundation
import Logging
import Tracing
import XCTest

@testable import KatoObservability

/// The OTLP tracer: W3C trace context in and out, parent/child ids, the JSON it exports, and
/// the bounded queue.
final class OTLPTracerTests: XCTestCase {
    func exporter(queue: Int = 16, batch: Int = 16) throws -> OTLPExporter {
        var configuration = OTLPExporter.Configuration(endpoint: try .init(url: "http://127.0.0.1:1"))
        configuration.maxQueueSize = queue
        configuration.maxBatchSize = batch
        configuration.flushInterval = .seconds(3600)
        return try OTLPExporter(configuration: configuration, logger: Logger(label: "test"))
    }

    func testTraceparentParsing() {
        let parsed = W3CSpanContext(traceparent: "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", tracestate: "a=1")
        XCTAssertEqual(parsed?.traceID, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(parsed?.spanID, "b7ad6b7169203331")
        XCTAssertEqual(parsed?.sampled, true)
        XCTAssertEqual(parsed?.traceState, "a=1")
        XCTAssertEqual(parsed?.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        XCTAssertEqual(W3CSpanContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled, false)
        for bad in [
            "garbage", "00-" + String(repeating: "0", count: 32) + "-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        ] {
            XCTAssertNil(W3CSpanContext(traceparent: bad), bad)
        }
        // A later version may append fields.
        XCTAssertNotNil(W3CSpanContext(traceparent: "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"))
    }

    func testChildSpansJoinTheExtractedTraceAndInjectTheirOwnID() throws {
        let tracer = OTLPTracer(exporter: try exporter())
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("op", context: context, ofKind: .server)
        let own = try XCTUnwrap(span.context[W3CSpanContextKey.self])
        XCTAssertEqual(own.traceID, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertNotEqual(own.spanID, "b7ad6b7169203331")
        XCTAssertEqual(span.parentSpanID, "b7ad6b7169203331")
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        XCTAssertEqual(headers["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-\(own.spanID)-01")
    }

    func testRootSpanAdoptsTheCallsTraceID() throws {
        let tracer = OTLPTracer(exporter: try exporter())
        let root = tracer.startSpan("op", context: .topLevel, ofKind: .server)
        root.attributes["kato.trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736"
        XCTAssertEqual(root.context[W3CSpanContextKey.self]?.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertNil(root.parentSpanID)
    }

    func testEndedSpansAreQueuedBoundedAndOnce() throws {
        let exporter = try exporter(queue: 3, batch: 100)
        let tracer = OTLPTracer(exporter: exporter)
        for _ in 0..<5 {
            let span = tracer.startSpan("op", context: .topLevel, ofKind: .server)
            span.end()
            span.end()
        }
        XCTAssertEqual(exporter.queuedCount, 3)
        // Unsampled traces record nothing.
        var context = ServiceContext.topLevel
        context[W3CSpanContextKey.self] = W3CSpanContext(traceID: String(repeating: "1", count: 32), spanID: "1111111111111111", sampled: false)
        let unsampled = try OTLPExporter(configuration: exporter.configuration, logger: Logger(label: "test"))
        let span = OTLPTracer(exporter: unsampled).startSpan("op", context: context, ofKind: .server)
        XCTAssertFalse(span.isRecording)
        span.end()
        XCTAssertEqual(unsampled.queuedCount, 0)
    }

    func testExportRequestIsOTLPJSON() throws {
        let tracer = OTLPTracer(exporter: try exporter())
        var context = ServiceContext.topLevel
        context[W3CSpanContextKey.self] = W3CSpanContext(traceID: "0af7651916cd43dd8448eb211c80319c", spanID: "b7ad6b7169203331")
        let span = tracer.startSpan("kato.v2.X/Y", context: context, ofKind: .server)
        span.attributes["s"] = "quote \" and \n"
        span.attributes["i"] = 5
        span.attributes["d"] = 1.5
        span.attributes["b"] = true
        span.attributes["a"] = SpanAttribute.stringArray(["x", "y"])
        span.recordError(CancellationError())
        span.setStatus(SpanStatus(code: .error, message: "NOT_FOUND"))
        let state = span.state.withLock { $0 }
        let data = OTLPSpanData(
            name: state.name, kind: .server, context: state.spanContext, parentSpanID: span.parentSpanID, start: 10, end: 20,
            attributes: state.attributes, status: state.status, events: state.events, links: [])
        let json = OTLPJSON.exportRequest([data], resource: .init(serviceName: "svc"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let resourceSpans = try XCTUnwrap(object["resourceSpans"] as? [[String: Any]])
        let scopeSpans = try XCTUnwrap(resourceSpans[0]["scopeSpans"] as? [[String: Any]])
        let spans = try XCTUnwrap(scopeSpans[0]["spans"] as? [[String: Any]])
        let s = spans[0]
        XCTAssertEqual(s["traceId"] as? String, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(s["parentSpanId"] as? String, "b7ad6b7169203331")
        XCTAssertEqual(s["name"] as? String, "kato.v2.X/Y")
        XCTAssertEqual(s["kind"] as? Int, 2)
        XCTAssertEqual(s["startTimeUnixNano"] as? String, "10")
        XCTAssertEqual(s["endTimeUnixNano"] as? String, "20")
        XCTAssertEqual((s["status"] as? [String: Any])?["code"] as? Int, 2)
        var values: [String: [String: Any]] = [:]
        for kv in try XCTUnwrap(s["attributes"] as? [[String: Any]]) {
            values[kv["key"] as! String] = kv["value"] as? [String: Any]
        }
        XCTAssertEqual(values["s"]?["stringValue"] as? String, "quote \" and \n")
        XCTAssertEqual(values["i"]?["intValue"] as? String, "5")
        XCTAssertEqual(values["d"]?["doubleValue"] as? Double, 1.5)
        XCTAssertEqual(values["b"]?["boolValue"] as? Bool, true)
        XCTAssertNotNil(values["a"]?["arrayValue"])
        let events = try XCTUnwrap(s["events"] as? [[String: Any]])
        XCTAssertEqual(events.first?["name"] as? String, "exception")
    }

    func testEndpointURLs() throws {
        XCTAssertEqual(try OTLPExporter.Endpoint(url: "http://collector:4318").description, "http://collector:4318/v1/traces")
        XCTAssertEqual(try OTLPExporter.Endpoint(url: "http://collector").port, 4318)
        XCTAssertEqual(try OTLPExporter.Endpoint(url: "http://[::1]:9/custom/path").description, "http://[::1]:9/custom/path")
        let secure = try OTLPExporter.Endpoint(url: "https://otlp.example.com")
        XCTAssertTrue(secure.usesTLS)
        XCTAssertEqual(secure.port, 443)
        XCTAssertEqual(secure.description, "https://otlp.example.com:443/v1/traces")
        XCTAssertFalse(try OTLPExporter.Endpoint(url: "http://collector").usesTLS)
        for bad in ["ftp://collector:4318", "collector:4318", "http://:4318", "http://c:port", "https://"] {
            XCTAssertThrowsError(try OTLPExporter.Endpoint(url: bad), bad)
        }
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
