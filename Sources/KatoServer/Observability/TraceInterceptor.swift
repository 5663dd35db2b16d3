import GRPCH2
import Logging
import Synchronization
import Tracing

/// The call's trace id: from W3C `traceparent` when the client sent one, else generated.
public enum TraceIDKey: AttributeKey {
    public typealias Value = String
}

extension ServerContext {
    /// The trace id of this call (empty when no TraceInterceptor ran).
    public var traceID: String { attributes[TraceIDKey.self] ?? "" }
}

/// The outermost interceptor: assigns every call a trace id (W3C `traceparent`, generated when
/// absent) that every error's `ErrorInfo` and every log line of the call carry and that returns
/// as `x-trace-id` trailing metadata; runs the call in a swift-distributed-tracing span (method,
/// status, session, node); writes one access-log line per call.
///
/// The span goes to `tracer` (by default `InstrumentationSystem.tracer`, a no-op until a
/// backend such as swift-otel's OTLP exporter is bootstrapped; the tracer's own `extract`
/// reads `traceparent`/`tracestate` from the request metadata).
public struct TraceInterceptor: ServerInterceptor {
    let logger: Logger
    let accessLogLevel: Logger.Level?
    let tracer: (any Tracer)?

    /// - Parameters:
    ///   - accessLogLevel: level of the per-call access-log line; nil writes none.
    ///   - tracer: where spans go; nil (or a `NoOpTracer`) makes none.
    public init(logger: Logger, accessLogLevel: Logger.Level? = .debug, tracer: (any Tracer)? = InstrumentationSystem.tracer) {
        self.logger = logger
        self.accessLogLevel = accessLogLevel
        self.tracer = tracer is NoOpTracer ? nil : tracer
    }

    public func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        var context = context
        let traceID = Self.traceID(fromTraceparent: context.requestMetadata.firstString(forKey: "traceparent")) ?? Self.newTraceID()
        let record = CallRecord()
        context.attributes[TraceIDKey.self] = traceID
        context.attributes[CallRecordKey.self] = record
        var trailing = Metadata()
        trailing.addString(traceID, forKey: "x-trace-id")
        context.addTrailingMetadata(trailing)
        let start = ContinuousClock.now
        var code = StatusCode.ok
        var failure: (any Error)?
        let span = tracer.map { Self.startSpan($0, context) }
        defer {
            if let span { Self.end(span, code: code, error: failure, record: record) }
            if let level = accessLogLevel, logger.logLevel <= level {
                logger.log(level: level, "call", metadata: [
                    "method": "\(context.path)", "status": "\(code.name)",
                    "duration_ms": "\(Double(GRPCMetricsInterceptor.nanoseconds(since: start)) / 1e6)",
                    "peer": "\(context.peer)", "principal": "\(record.principal)",
                    "session_id": "\(record.sessionID)", "node_id": "\(record.nodeID)", "trace_id": "\(traceID)",
                ])
            }
        }
        do {
            if let span {
                let ctx = context
                try await ServiceContext.withValue(span.context) { try await next(ctx) }
            } else {
                try await next(context)
            }
        } catch {
            code = GRPCMetricsInterceptor.code(of: error, context)
            failure = error
            throw error
        }
    }

    static func startSpan(_ tracer: any Tracer, _ context: ServerContext) -> any Span {
        var serviceContext = ServiceContext.current ?? .topLevel
        tracer.extract(context.requestMetadata, into: &serviceContext, using: MetadataExtractor())
        let span = tracer.startSpan(String(context.path.dropFirst()), context: serviceContext, ofKind: .server)
        span.attributes["rpc.system"] = "grpc"
        span.attributes["rpc.service"] = String(context.serviceName)
        span.attributes["rpc.method"] = String(context.methodName)
        span.attributes["kato.trace_id"] = context.traceID
        return span
    }

    static func end(_ span: any Span, code: StatusCode, error: (any Error)?, record: CallRecord) {
        span.attributes["rpc.grpc.status_code"] = code.rawValue
        let session = record.sessionID, node = record.nodeID
        if !session.isEmpty { span.attributes["kato.session_id"] = session }
        if !node.isEmpty { span.attributes["kato.node_id"] = node }
        if let error {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: code.name))
        }
        span.end()
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; nil when malformed or all zero.
    static func traceID(fromTraceparent header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: "-")
        guard parts.count >= 4, parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit),
            parts[1].contains(where: { $0 != "0" })
        else { return nil }
        return parts[1].lowercased()
    }

    /// 128 random-looking bits without a system call per call: SplitMix64 over a per-process
    /// random seed and an atomic counter (ids never repeat within a process; W3C asks trace ids
    /// to be random, not secret).
    static func newTraceID() -> String {
        let n = traceCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return hex(splitMix(traceSeed.0 &+ n)) + hex(splitMix(traceSeed.1 ^ n))
    }

    static let traceSeed: (UInt64, UInt64) = {
        var rng = SystemRandomNumberGenerator()
        return (rng.next(), rng.next())
    }()
    static let traceCounter = Atomic<UInt64>(0)

    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Reads W3C trace context (`traceparent`, `tracestate`) from gRPC request metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? {
        carrier.firstString(forKey: key)
    }
}
