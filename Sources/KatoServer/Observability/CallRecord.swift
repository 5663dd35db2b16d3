import GRPCH2
import Synchronization

/// What the handler learned about its call (session, node, principal) for the interceptors
/// around it: the span's attributes and the access-log line. One per call, made by
/// `TraceInterceptor`.
public final class CallRecord: Sendable {
    struct State {
        var sessionID = ""
        var nodeID = ""
        var principal = ""
    }

    let state = Mutex(State())

    public init() {}

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
}

enum CallRecordKey: AttributeKey {
    typealias Value = CallRecord
}

extension ServerContext {
    /// The call's record (nil when no TraceInterceptor ran).
    public var callRecord: CallRecord? { attributes[CallRecordKey.self] }
}
