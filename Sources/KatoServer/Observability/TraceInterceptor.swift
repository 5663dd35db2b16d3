import GRPCH2
import KatoSupport
import Logging
import Synchronization
import Tracing

/// The call's trace id: from W3C `traceparent` when the client sent one, else generated.
public enum TraceIDKey: AttributeKey {
    public typealias Value = String
}

extension ServerContext {
    /// The trace id of this call (empty when no TraceInterceptor ran). Kept in the call's
    /// `CallRecord` (one attribute per call); `TraceIDKey` is read when there is none.
    public var traceID: String { callRecord?.traceID ?? attributes[TraceIDKey.self] ?? "" }
}

/// The outermost interceptor: assigns every call a trace id (W3C `traceparent`, generated when
/// absent) that every error's `ErrorInfo` and every log line of the call carry and that returns
/// as `x-trace-id` trailing metadata; runs the call in a swift-distributed-tracing span (method,
/// status, session, node); writes one access-log line per call. It is the edge of the call:
/// whatever the interceptors inside it or the handler throw becomes the call's status here,
/// once (`RPCError(mapping:in:)`, with the context that holds the trace id).
///
/// The span goes to `tracer` (by default `InstrumentationSystem.tracer`, a no-op until a
/// backend such as swift-otel's OTLP exporter is bootstrapped; the tracer's own `extract`
/// reads `traceparent`/`tracestate` from the request metadata).
public final class TraceInterceptor: StagedInterceptor {
    let logger: Logger
    let accessLogLevel: Logger.Level?
    let tracer: (any Tracer)?
    /// Set when a `LogLineSink` is given (the log backend's) and the logger has no context
    /// metadata: the access-log line is then formatted here, straight into the sink's buffer
    /// (the same bytes the backend's handler would write, without building a
    /// `Logger.Metadata` dictionary and sorting it per call).
    let directLog: DirectAccessLog?
    /// Whether the access-log line is written (a level is set and the logger lets it through),
    /// decided once: the logger's level cannot change under this copy of it.
    let logsAccess: Bool
    /// The access-log level set by the feature flags while running: -2 none (the start-up
    /// setting above applies), -1 off, else a `Logger.Level` index. One relaxed load per call.
    let accessLogOverride = Atomic<Int>(-2)

    /// Sets (nil: clears) the access log's level over the start-up one; `.some(nil)` is off.
    func overrideAccessLog(_ level: Logger.Level??) {
        let value: Int
        switch level {
        case .none: value = -2
        case .some(.none): value = -1
        case .some(.some(let l)): value = Logger.Level.allCases.firstIndex(of: l)!
        }
        accessLogOverride.store(value, ordering: .relaxed)
    }

    /// - Parameters:
    ///   - accessLogLevel: level of the per-call access-log line; nil writes none.
    ///   - tracer: where spans go; nil (or a `NoOpTracer`) makes none.
    ///   - lineSink: where `logger`'s handler writes, when it can take a formatted line
    ///     (`StreamLogHandler`'s format: `<timestamp> <level> <label>: <metadata sorted> [<source>] <message>`).
    public init(
        logger: Logger, accessLogLevel: Logger.Level? = .debug, tracer: (any Tracer)? = InstrumentationSystem.tracer,
        lineSink: (any LogLineSink)? = nil
    ) {
        self.logger = logger
        self.accessLogLevel = accessLogLevel
        self.tracer = tracer is NoOpTracer ? nil : tracer
        if let level = accessLogLevel, let lineSink, logger.handler.metadata.isEmpty, logger.handler.metadataProvider == nil {
            directLog = DirectAccessLog(
                writer: lineSink, prefix: Array(" \(level)\(logger.label.isEmpty ? "" : " ")\(logger.label):".utf8))
        } else {
            directLog = nil
        }
        logsAccess = accessLogLevel.map { logger.logLevel <= $0 } ?? false
    }

    /// Where the access-log line goes when it is formatted here: the handler's writer, the
    /// line's `<level> <label>:` part and its fixed parts as bytes, made once (appending a
    /// string literal's UTF-8 goes through a String each time; a static array is retained at
    /// each use, fields of this object are not).
    final class DirectAccessLog: Sendable {
        let writer: any LogLineSink
        let prefix: [UInt8]
        let duration = Array(" duration_ms=".utf8)
        let method = Array(" method=".utf8)
        let node = Array(" node_id=".utf8)
        let peer = Array(" peer=".utf8)
        let principal = Array(" principal=".utf8)
        let wireProtocol = Array(" protocol=".utf8)
        let session = Array(" session_id=".utf8)
        let end = Array(" [KatoServer] call\n".utf8)
        /// ` status=<NAME> trace_id=` for each status code (0...16).
        let statusAndTraceByCode: [[UInt8]] = (0...16).map { Array(" status=\(StatusCode(rawValue: $0).name) trace_id=".utf8) }

        init(writer: any LogLineSink, prefix: [UInt8]) {
            self.writer = writer
            self.prefix = prefix
        }

        func statusAndTrace(_ code: StatusCode) -> [UInt8] {
            statusAndTraceByCode.indices.contains(code.rawValue)
                ? statusAndTraceByCode[code.rawValue] : Array(" status=\(code.name) trace_id=".utf8)
        }
    }

    /// One call's trace state: two words, copied inline. The span lives in the record (a
    /// class), not here: an `any Span` is an opaque existential, which made this token, and
    /// every tuple and optional the composed stages nest it in, address-only, copied and
    /// destroyed through runtime metadata and kept across the call's `await` in allocations
    /// of its own (docs/BENCHMARKS.md, "flat tokens").
    public struct Call {
        let record: CallRecord
        /// `CallClock` time the call started.
        let start: Int64
    }

    /// Starts the call: trace id, record, `x-trace-id`, span.
    @inline(__always)  // into the composed stages (`ComposedStages`)
    public func before(_ context: inout ServerContext) -> InterceptorStep<Call> {
        .proceed(begin(&context, start: CallClock.now()))
    }

    @inline(__always)
    public func succeeded(_ call: Call, context: ServerContext) {
        end(call, context, code: .ok, error: nil, nanoseconds: CallClock.now() - call.start)
    }

    /// The edge: whatever the stages inside or the handler threw becomes the call's status.
    @inline(__always)
    public func failed(_ call: Call, context: ServerContext, error: any Error) -> any Error {
        let status = RPCError(mapping: error, in: context)
        // A handler cut short by its deadline is logged as the peer sees it: DEADLINE_EXCEEDED.
        let code = DeadlineStatus.resolve(status.code, deadline: context.deadline)
        end(call, context, code: code, error: error, nanoseconds: CallClock.now() - call.start)
        return status
    }

    /// With a span, the rest of the call runs in its context (`ServiceContext.current`), so
    /// spans the handler starts are its children.
    @inline(__always)
    public func bindsAround(_ call: Call) -> Bool { call.record.span != nil }

    public nonisolated(nonsending) func around<R>(_ call: Call, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
        guard let span = call.record.span else { return try await body() }
        return try await ServiceContext.withValue(span.context) { try await body() }
    }

    /// Gives the call its trace id (and `x-trace-id` trailer), its `CallRecord` and its span.
    /// `start` is the call's `CallClock` time.
    func begin(_ context: inout ServerContext, start: Int64) -> Call {
        let traceID = Self.traceID(fromTraceparent: context.requestMetadata.first(lowercasedKey: "traceparent")) ?? Self.newTraceID()
        let span = tracer.map { Self.startSpan($0, context, traceID: traceID) }
        let record = CallRecord(traceID: traceID, span: span)
        context.attributes[CallRecordKey.self] = record
        context.addTrailingMetadata(traceID, forKey: "x-trace-id")
        return Call(record: record, start: start)
    }

    /// Ends the span and writes the access-log line; the call took `nanoseconds`.
    func end(_ call: Call, _ context: ServerContext, code: StatusCode, error failure: (any Error)?, nanoseconds: Int64) {
        let record = call.record
        if let span = record.span { Self.end(span, code: code, error: failure, record: record) }
        let override = accessLogOverride.load(ordering: .relaxed)
        if override != -2 {
            if override >= 0, case let level = Logger.Level.allCases[override], logger.logLevel <= level {
                logger.log(level: level, "call", metadata: [
                    "method": "\(context.path)", "status": "\(code.name)",
                    "duration_ms": "\(Double(nanoseconds) / 1e6)",
                    "peer": "\(context.peer)", "principal": "\(record.principal)", "protocol": "\(context.wireProtocol)",
                    "session_id": "\(record.sessionID)", "node_id": "\(record.nodeID)", "trace_id": "\(record.traceID)",
                ])
            }
        } else if logsAccess, let level = accessLogLevel {
            if let directLog {
                Self.writeAccessLine(directLog, context, code: code, nanoseconds: nanoseconds, record: record)
            } else {
                logger.log(level: level, "call", metadata: [
                    "method": "\(context.path)", "status": "\(code.name)",
                    "duration_ms": "\(Double(nanoseconds) / 1e6)",
                    "peer": "\(context.peer)", "principal": "\(record.principal)", "protocol": "\(context.wireProtocol)",
                    "session_id": "\(record.sessionID)", "node_id": "\(record.nodeID)", "trace_id": "\(record.traceID)",
                ])
            }
        }
    }

    /// The access-log line as `StreamLogHandler` formats it (metadata keys sorted):
    /// `<timestamp> <level> <label>: duration_ms=… method=… node_id=… peer=… principal=…
    /// protocol=… session_id=… status=… trace_id=… [KatoServer] call` (protocol: grpc, grpc-web,
    /// grpc-web-text or connect).
    static func writeAccessLine(
        _ log: DirectAccessLog, _ context: ServerContext, code: StatusCode,
        nanoseconds: Int64, record: CallRecord
    ) {
        let (sessionID, nodeID, principal) = record.fields
        log.writer.appendLine { b, timestamp in
            b.append(contentsOf: timestamp)
            b.append(contentsOf: log.prefix)
            b.append(contentsOf: log.duration)
            appendMilliseconds(nanoseconds, to: &b)
            b.append(contentsOf: log.method)
            b.append(contentsOf: context.path.utf8)
            b.append(contentsOf: log.node)
            b.append(contentsOf: nodeID.utf8)
            b.append(contentsOf: log.peer)
            b.append(contentsOf: context.peer.utf8)
            b.append(contentsOf: log.principal)
            b.append(contentsOf: principal.utf8)
            b.append(contentsOf: log.wireProtocol)
            b.append(contentsOf: context.wireProtocol.utf8)
            b.append(contentsOf: log.session)
            b.append(contentsOf: sessionID.utf8)
            b.append(contentsOf: log.statusAndTrace(code))
            b.append(contentsOf: record.traceID.utf8)
            b.append(contentsOf: log.end)
        }
    }

    /// `nanoseconds` as milliseconds with three decimals (`0.412`), digits written straight
    /// into the line: formatting a `Double` cost more than the rest of the line together.
    static func appendMilliseconds(_ nanoseconds: Int64, to b: inout [UInt8]) {
        let micros = max(0, nanoseconds) / 1000
        appendDecimal(micros / 1000, to: &b)
        b.append(UInt8(ascii: "."))
        let fraction = micros % 1000
        b.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        b.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        b.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    private static func appendDecimal(_ value: Int64, to b: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &b) }
        b.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    static func startSpan(_ tracer: any Tracer, _ context: ServerContext, traceID: String) -> any Span {
        var serviceContext = ServiceContext.current ?? .topLevel
        tracer.extract(context.requestMetadata, into: &serviceContext, using: MetadataExtractor())
        let span = tracer.startSpan(String(context.path.dropFirst()), context: serviceContext, ofKind: .server)
        span.attributes["rpc.system"] = "grpc"
        span.attributes["rpc.service"] = String(context.serviceName)
        span.attributes["rpc.method"] = String(context.methodName)
        span.attributes["kato.trace_id"] = traceID
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

    /// A new W3C trace id: 32 hex digits (`UniqueIDs`).
    static func newTraceID() -> String { UniqueIDs.hex128() }
}

/// Reads W3C trace context (`traceparent`, `tracestate`) from gRPC request metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? {
        carrier.firstString(forKey: key)
    }
}
