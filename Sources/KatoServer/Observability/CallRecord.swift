import GRPCH2
import Synchronization
import Tracing

/// The call's own state for the interceptors and handlers, made once per call by
/// `TraceInterceptor` (the outermost) and carried as one attribute: its trace id, what the handler learned
/// (session, node, principal: the span's attributes and the access-log line) and the
/// per-session rate limiter. One attribute instead of several keeps the per-call attribute
/// dictionary small (each attribute is a hash insert and a dynamic cast per read).
public final class CallRecord: Sendable {
    struct State {
        var sessionID = ""
        var nodeID = ""
        var principal = ""
        var principalValue: Principal?
    }

    /// The call's trace id (W3C `traceparent`'s, or generated).
    public let traceID: String
    /// The per-session token buckets the handler takes from once it knows the session (nil:
    /// no session limit, or a method exempt from rate limits). Set by `RateLimitInterceptor`
    /// before the handler runs, on the call's task, and read after on the same task (the
    /// order of the task's own steps; no lock needed).
    nonisolated(unsafe) var sessionLimiter: KeyedRateLimiter?
    /// Written by the handler's task and read after it by the interceptors around it: the lock
    /// is never contended (one task per call), it only orders the accesses.
    let state = Mutex(State())

    /// The call's span (nil: no tracer), ended by `TraceInterceptor` when the call ends. Kept
    /// here rather than in the trace stage's token, which stays two words (see
    /// `TraceInterceptor.Call`).
    let span: (any Span)?

    public convenience init(traceID: String = "") {
        self.init(traceID: traceID, span: nil)
    }

    init(traceID: String, span: (any Span)?) {
        self.traceID = traceID
        self.span = span
        self.sessionLimiter = nil
    }


    public var sessionID: String { state.withLock { $0.sessionID } }
    public var nodeID: String { state.withLock { $0.nodeID } }
    public var principal: String { state.withLock { $0.principal } }

    func record(sessionID: String, nodeID: String) {
        state.withLock { s in
            s.sessionID = sessionID
            s.nodeID = nodeID
        }
    }

    func record(principal: String) {
        state.withLock { $0.principal = principal }
    }

    /// The authenticated caller (its name goes to the access log and the rate limits).
    func record(principal: Principal) {
        state.withLock { s in
            s.principal = principal.name
            s.principalValue = principal
        }
    }

    /// The caller `record(principal:)` stored (nil: authentication off, or an open service).
    var principalValue: Principal? { state.withLock { $0.principalValue } }

    /// Session, node and principal in one lock.
    var fields: (sessionID: String, nodeID: String, principal: String) {
        state.withLock { ($0.sessionID, $0.nodeID, $0.principal) }
    }
}

enum CallRecordKey: AttributeKey {
    typealias Value = CallRecord
}

extension ServerContext {
    /// The call's record (nil when no TraceInterceptor ran).
    public var callRecord: CallRecord? { attributes[CallRecordKey.self] }
}
