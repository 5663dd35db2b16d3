import GRPCH2
import KatoEngine
import ProtobufCBridge

/// Every failure a kato service reports, in KATO's vocabulary. Mapped to a gRPC status with
/// `google.rpc.Status` details (ErrorInfo, BadRequest, RetryInfo) in one place, its
/// `RPCErrorConvertible` conformance, at the edge of the call: `TraceInterceptor` (or, with no
/// interceptor, the transport) calls `rpcError(in:)`, which reads the call's trace id from
/// its context. Handlers and interceptors throw `KatoError`s as they are.
public enum KatoError: Error, Sendable, Equatable {
    case sessionNotFound(String)
    case sessionExpired(String)
    case patternNotFound(String)
    /// Field violations: (field path, description).
    case validation([FieldViolation])
    case emptySTM
    case tooManySessions(limit: Int)
    case sessionEnded(String)
    case deadlineExceeded
    case cancelled
    case unavailable(reason: String, message: String)
    /// Missing or invalid credentials (reason e.g. `CREDENTIALS_MISSING`, `TOKEN_EXPIRED`).
    case unauthenticated(reason: String, message: String)
    /// Authenticated, but the role or node does not allow the call (reason e.g. `ROLE_REQUIRED`).
    case permissionDenied(reason: String, message: String)
    /// A token bucket is empty (`scope`: `principal`, `session`); retry after `retryAfter`.
    case rateLimited(scope: String, retryAfter: Duration)
    /// The server already runs its maximum number of concurrent calls.
    case overloaded(limit: Int, retryAfter: Duration)
    /// An operator switched the feature off (a feature flag; ErrorInfo metadata `feature`).
    case featureDisabled(flag: String, message: String)
    /// The call cannot work in this server's configuration (e.g. a feature the configured store lacks).
    case failedPrecondition(reason: String, message: String)

    public struct FieldViolation: Sendable, Equatable {
        public var field: String
        public var description: String
        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    /// A change to a session already handed over to a successor process (a call cut off by the
    /// restart that was still running): retryable, against the successor.
    static let handedOver = KatoError.unavailable(reason: "SERVER_DRAINING", message: "session handed over to the restarted server; retry")

    /// One invalid field.
    public static func invalid(_ field: String, _ description: String) -> KatoError {
        .validation([FieldViolation(field: field, description: description)])
    }

    /// The ErrorInfo reason, UPPER_SNAKE_CASE.
    public var reason: String {
        switch self {
        case .sessionNotFound: "SESSION_NOT_FOUND"
        case .sessionExpired: "SESSION_EXPIRED"
        case .patternNotFound: "PATTERN_NOT_FOUND"
        case .validation: "VALIDATION_ERROR"
        case .emptySTM: "EMPTY_STM"
        case .tooManySessions: "SESSION_LIMIT"
        case .sessionEnded: "SESSION_ENDED"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .cancelled: "CANCELLED"
        case .unavailable(let reason, _): reason
        case .unauthenticated(let reason, _): reason
        case .permissionDenied(let reason, _): reason
        case .rateLimited: "RATE_LIMITED"
        case .overloaded: "CONCURRENCY_LIMIT"
        case .featureDisabled: "FEATURE_DISABLED"
        case .failedPrecondition(let reason, _): reason
        }
    }

    var code: StatusCode {
        switch self {
        case .sessionNotFound, .sessionExpired, .patternNotFound, .sessionEnded: .notFound
        case .validation: .invalidArgument
        case .emptySTM, .failedPrecondition: .failedPrecondition
        case .tooManySessions: .resourceExhausted
        case .deadlineExceeded: .deadlineExceeded
        case .cancelled: .cancelled
        case .unavailable: .unavailable
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .rateLimited, .overloaded: .resourceExhausted
        case .featureDisabled: .unimplemented
        }
    }

    var message: String {
        switch self {
        case .sessionNotFound(let id): "session '\(id)' not found"
        case .sessionExpired(let id): "session '\(id)' has expired"
        case .patternNotFound(let name): "Pattern \(name) not found"
        case .validation(let violations):
            "invalid request: " + violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        case .emptySTM: "cannot learn from an empty short-term memory"
        case .tooManySessions(let limit): "session limit reached (\(limit))"
        case .sessionEnded(let id): "session '\(id)' was deleted or expired"
        case .deadlineExceeded: "deadline exceeded before the operation completed; nothing was changed"
        case .cancelled: "call cancelled; nothing was changed"
        case .unavailable(_, let message): message
        case .unauthenticated(_, let message): message
        case .permissionDenied(_, let message): message
        case .rateLimited(let scope, let retryAfter):
            "rate limit exceeded (\(scope)); retry in \(Self.milliseconds(retryAfter)) ms"
        case .overloaded(let limit, _): "server busy: \(limit) concurrent calls already running"
        case .featureDisabled(_, let message): message
        case .failedPrecondition(_, let message): message
        }
    }

    /// The status sent to the client; `traceID` goes into ErrorInfo metadata.
    func rpcError(traceID: String) -> RPCError {
        var info = Google_Rpc_ErrorInfo()
        info.reason = reason
        info.domain = "kato.v2"
        info.metadata = ["trace_id": traceID]
        if case .rateLimited(let scope, _) = self { info.metadata["scope"] = scope }
        if case .featureDisabled(let flag, _) = self { info.metadata["feature"] = flag }
        var details: [any ProtoMessage] = [info]
        var trailing = Metadata()
        if let retryAfter {
            var retry = Google_Rpc_RetryInfo()
            var delay = Google_Protobuf_Duration()
            delay.seconds = retryAfter.components.seconds
            delay.nanos = Int32(retryAfter.components.attoseconds / 1_000_000_000)
            retry.retryDelay = delay
            details.append(retry)
            // gRPC's retry design (A6): the server tells the client when to retry.
            trailing.addString(String(Self.milliseconds(retryAfter)), forKey: "grpc-retry-pushback-ms")
        }
        if case .validation(let violations) = self {
            var bad = Google_Rpc_BadRequest()
            bad.fieldViolations = violations.map { v in
                var fv = Google_Rpc_BadRequest.FieldViolation()
                fv.field = v.field
                fv.description = v.description
                return fv
            }
            details.append(bad)
        }
        return RPCError(code: code, message: message, details: details, trailingMetadata: trailing)
    }

    /// How long the client should wait before retrying (RetryInfo and `grpc-retry-pushback-ms`).
    var retryAfter: Duration? {
        switch self {
        case .rateLimited(_, let d), .overloaded(_, let d): d
        default: nil
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000
    }

    /// Maps any error raised while serving a call to a `KatoError`.
    static func from(_ error: any Error) -> KatoError? {
        switch error {
        case let e as KatoError: return e
        case let e as EngineValidationError: return .invalid(e.field, e.reason)
        case is EngineCancelledError: return Task.isCancelled ? .cancelled : .deadlineExceeded
        case is CancellationError: return .cancelled
        default: return nil
        }
    }
}

extension KatoError: RPCErrorConvertible {
    /// The status outside any call (no trace id).
    public var rpcError: RPCError { rpcError(traceID: "") }

    /// The status of a call: the trace id comes from `context` (its `CallRecord`).
    public func rpcError(in context: ServerContext) -> RPCError { rpcError(traceID: context.traceID) }
}
