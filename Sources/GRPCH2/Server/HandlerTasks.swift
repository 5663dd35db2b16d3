import NIOConcurrencyHelpers

/// Handler tasks cancelled while they may still run: their client reset the stream, their
/// deadline passed, or the grace period closed their connection. Cancellation does not stop a
/// task at once (it runs to its next check), so `GRPCServer.shutdown()` waits for these, bounded:
/// what a cut-off call does, or fails to do, is over before the application's last step (a
/// restart's hand-over snapshots the sessions then).
final class HandlerTasks: Sendable {
    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Keeps `task` until it ends (a watcher per cancelled call: rare, never per call).
    func track(_ task: Task<Void, Never>) {
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            s.tasks[s.next] = task
            return s.next
        }
        Task { [self] in
            await task.value
            _ = state.withLockedValue { $0.tasks.removeValue(forKey: id) }
        }
    }

    var running: Int { state.withLockedValue { $0.tasks.count } }

    /// Returns once every tracked task has ended, or when `bound` has passed: how many still run.
    func waitForAll(within bound: Duration) async -> Int {
        let deadline = ContinuousClock.now + bound
        while true {
            let left = running
            if left == 0 || ContinuousClock.now >= deadline { return left }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
