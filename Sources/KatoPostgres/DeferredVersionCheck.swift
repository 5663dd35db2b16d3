import Synchronization

/// Read-your-writes of a session call run optimistically (``PostgresSessionStore/speculate(id:_:)``,
/// docs/SCALING.md). Instead of reading the node's committed version before predicting (a round
/// trip of its own), ``ReplicatedNode/awaitCurrent(bound:)`` notes the version memory reflects
/// here, and the session's conditional write checks, in the same statement, that PostgreSQL has
/// committed nothing newer for the node; if it has, nothing is written and the call runs again
/// once memory caught up with the version that statement returned (`required`).
///
/// A call that would write the knowledge base (a learn, an auto-learn) cannot be speculative —
/// its commit cannot be taken back — so ``ReplicatedNode/write(_:)`` refuses to run under a check
/// (``NeedsSessionLock``) and the call runs again on the locked path.
public final class DeferredVersionCheck: Sendable {
    @TaskLocal public static var current: DeferredVersionCheck?

    /// The session's node: the only one whose version the write can check.
    let nodeID: String
    /// The node's committed version PostgreSQL last reported: memory must reach it first.
    let required: Int64
    private struct State {
        var applied: Int64?
        var foreign = false
        var needsLock = false
    }
    private let state = Mutex(State())

    init(nodeID: String, required: Int64) {
        self.nodeID = nodeID
        self.required = required
    }

    /// The version memory must reach before `node` is read (0: none known).
    func required(for node: String) -> Int64 { node == nodeID ? required : 0 }

    /// The call read `node`'s knowledge base as of `version` (or later).
    func noted(_ node: String, applied version: Int64) {
        state.withLock { s in
            if node != nodeID {
                s.foreign = true
            } else {
                s.applied = min(s.applied ?? .max, version)
            }
        }
    }

    func lockNeeded() { state.withLock { $0.needsLock = true } }

    /// The version the write must find not exceeded (`.max`: the call read no knowledge base);
    /// nil when the call read another node's (the write cannot check it).
    var appliedBound: Int64? { state.withLock { $0.foreign ? nil : ($0.applied ?? .max) } }
    var needsLock: Bool { state.withLock { $0.needsLock } }
}

/// Thrown by a knowledge-base write attempted inside a speculative session call: the call is
/// run again holding its session's row lock.
public struct NeedsSessionLock: Error {}
