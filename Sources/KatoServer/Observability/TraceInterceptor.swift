import GRPCH2
import Logging

/// The call's trace id: from W3C `traceparent` when the client sent one, else generated.
public enum TraceIDKey: AttributeKey {
    public typealias Value = String
}

extension ServerContext {
    /// The trace id of this call (empty when no TraceInterceptor ran).
    public var traceID: String { attributes[TraceIDKey.self] ?? "" }
}

/// Assigns every call a trace id (reading `traceparent`), returns it as `x-trace-id`
/// trailing metadata, and writes one access-log line per call carrying it.
public struct TraceInterceptor: ServerInterceptor {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        var context = context
        let traceID = Self.traceID(fromTraceparent: context.requestMetadata.firstString(forKey: "traceparent")) ?? Self.newTraceID()
        context.attributes[TraceIDKey.self] = traceID
        var trailing = Metadata()
        trailing.addString(traceID, forKey: "x-trace-id")
        context.addTrailingMetadata(trailing)
        let start = ContinuousClock.now
        var code = StatusCode.ok
        defer {
            if logger.logLevel <= .debug {
                let elapsed = ContinuousClock.now - start
                logger.debug("call", metadata: [
                    "method": "\(context.path)", "status": "\(code.name)", "duration_us": "\(elapsed.components.attoseconds / 1_000_000_000_000 + elapsed.components.seconds * 1_000_000)",
                    "peer": "\(context.peer)", "trace_id": "\(traceID)",
                ])
            }
        }
        do {
            try await next(context)
        } catch {
            code = RPCError(mapping: error).code
            throw error
        }
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

    static func newTraceID() -> String {
        var rng = SystemRandomNumberGenerator()
        return hex(rng.next()) + hex(rng.next())
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
