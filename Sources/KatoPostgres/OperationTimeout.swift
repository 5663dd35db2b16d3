import KatoStore
import Synchronization

/// PostgreSQL operations with a bound. postgres-nio's pool queues a request while it cannot
/// connect and fails it only after its own circuit breaker trips (60 s, not configurable through
/// `PostgresClient`), so without this a call would hang for a minute when PostgreSQL is down.
enum OperationTimeout {
    /// How long one PostgreSQL operation of a call may take, connection lease included.
    static let bound: Duration = .seconds(3)

    /// Runs `operation` as a child task; past `bound` it is cancelled and a `StoreError` thrown.
    /// With `progress`, the operation must mark it within the first `OperationTimeout.bound`
    /// (PostgreSQL answered) to be given the rest of `bound`: a session call, which holds its
    /// row while the call's work runs, still fails fast when PostgreSQL is unreachable.
    static func run<R>(
        _ what: String, bound: Duration = OperationTimeout.bound, progress: OperationProgress? = nil,
        _ operation: @escaping @Sendable () async throws -> R
    ) async throws -> R {
        let result = try await withThrowingTaskGroup(of: UncheckedResult<R>?.self) { group in
            group.addTask { UncheckedResult(value: try await operation()) }
            group.addTask {
                if let progress, bound > OperationTimeout.bound {
                    try await Task.sleep(for: OperationTimeout.bound)
                    guard progress.started.load(ordering: .acquiring) else { return nil }
                    try await Task.sleep(for: bound - OperationTimeout.bound)
                } else {
                    try await Task.sleep(for: bound)
                }
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let result else {
            throw StoreError(.database, "PostgreSQL did not answer within \(bound) (\(what))")
        }
        return result.value
    }
}

/// Set by an operation once PostgreSQL answered its first statement (see `run`).
final class OperationProgress: Sendable {
    let started = Atomic<Bool>(false)

    func markStarted() { started.store(true, ordering: .releasing) }
}

/// A result handed from the child task to its parent, which waits for it: never shared
/// concurrently (hence unchecked); lets non-Sendable call results cross the task group.
struct UncheckedResult<R>: @unchecked Sendable {
    let value: R
}
