import GRPCH2
import Synchronization

/// The moment the server starts draining, for what must end then rather than at the end of the
/// grace period: open `SubscribePredictions` streams end with UNAVAILABLE (`SERVER_DRAINING`),
/// so their clients resubscribe elsewhere (or to the successor) while unary calls finish.
///
/// One object per server, begun once. Kept apart from the shutdown steps so a hand-over to a
/// successor process (issue #16's SCM_RIGHTS restart) can begin the same drain without stopping
/// the store.
public final class Drain: Sendable {
    private struct State {
        var draining = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Starts draining: every `wait()` returns. Idempotent.
    public func begin() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.draining else { return [] }
            s.draining = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns once draining begins, or when the calling task is cancelled.
    func wait() async {
        let id = state.withLock { s -> Int in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.draining || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }

    /// The status of a stream ended (or refused) by the drain.
    static let error = KatoError.unavailable(reason: "SERVER_DRAINING", message: "server draining; reconnect and resubscribe")

    /// Runs `body` (a streaming call's loop) until it ends or draining begins; then the call
    /// ends with UNAVAILABLE `SERVER_DRAINING`. A call started during the drain is refused.
    func racing(_ context: ServerContext, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let traceID = context.traceID
        if isDraining { throw Self.error.rpcError(traceID: traceID) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await self.wait()
                if self.isDraining { throw Self.error.rpcError(traceID: traceID) }
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }
}
