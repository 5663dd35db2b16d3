import KatoStore

/// PostgreSQL operations with a bound. postgres-nio's pool queues a request while it cannot
/// connect and fails it only after its own circuit breaker trips (60 s, not configurable through
/// `PostgresClient`), so without this a call would hang for a minute when PostgreSQL is down.
enum OperationTimeout {
    /// How long one PostgreSQL operation of a call may take, connection lease included.
    static let bound: Duration = .seconds(3)

    /// Runs `operation` as a child task; past `bound` it is cancelled and a `StoreError` thrown.
    static func run<R>(_ what: String, _ operation: @escaping @Sendable () async throws -> R) async throws -> R {
        let result = try await withThrowingTaskGroup(of: UncheckedResult<R>?.self) { group in
            group.addTask { UncheckedResult(value: try await operation()) }
            group.addTask {
                try await Task.sleep(for: bound)
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

/// A result handed from the child task to its parent, which waits for it: never shared
/// concurrently (hence unchecked); lets non-Sendable call results cross the task group.
struct UncheckedResult<R>: @unchecked Sendable {
    let value: R
}
