import Synchronization

/// A first-come-first-served lock for async code: at most one holder, waiters suspended (not
/// blocking a thread) in arrival order. One per replicated node: its writers and the change-feed
/// applier take it, so changes reach the in-memory knowledge base one at a time, in version order.
public final class AsyncGate: Sendable {
    public init() {}

    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { s -> Bool in
                if s.held {
                    s.waiters.append(c)
                    return false
                }
                s.held = true
                return true
            }
            if acquired { c.resume() }
        }
    }

    /// Hands the lock to the next waiter, or frees it.
    public func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.held = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    public func withLock<R>(_ body: () async throws -> R) async rethrows -> R {
        await lock()
        defer { unlock() }
        return try await body()
    }
}
