import KatoStore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
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
        let held = HeldConnection()
        let result = try await withThrowingTaskGroup(of: UncheckedResult<R>?.self) { group in
            group.addTask {
                try await HeldConnection.$current.withValue(held) { UncheckedResult(value: try await operation()) }
            }
            group.addTask {
                if let progress, bound > OperationTimeout.bound {
                    try await sleep(for: OperationTimeout.bound)
                    guard progress.started.load(ordering: .acquiring) else { return nil }
                    try await sleep(for: bound - OperationTimeout.bound)
                } else {
                    try await sleep(for: bound)
                }
                return nil
            }
            defer { group.cancelAll() }
            let first = try await group.next() ?? nil
            // The group waits for the operation before it returns, and cancelling it does not
            // end a query postgres-nio has sent: close its connection, which fails the query.
            if first == nil { held.close() }
            return first
        }
        guard let result else {
            // Without progress by `OperationTimeout.bound`, that is the wait that ran out.
            let waited = progress.map { $0.started.load(ordering: .acquiring) } == false ? OperationTimeout.bound : bound
            throw StoreError(.database, "PostgreSQL did not answer within \(waited) (\(what))")
        }
        return result.value
    }
}

extension OperationTimeout {
    /// `Task.sleep` on an event loop's timer (the one running this task when it is one of
    /// postgres-nio's, as a call's is): nearly every bound is cancelled long before it runs out,
    /// and a `Task.sleep` timer is armed and cancelled through Dispatch's timer thread, whose
    /// wake-ups were a tenth of a replica's CPU under load (docs/BENCHMARKS.md, "Cluster").
    static func sleep(for duration: Duration) async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let (seconds, attoseconds) = duration.components
        let timer = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch {
            throw CancellationError()  // cancelled (the only way the timer fails)
        }
    }
}

/// The pool connection an operation (`OperationTimeout.run`) is using, so its timeout can close
/// it. Task cancellation does not end a query postgres-nio has sent, and a query in flight when
/// PostgreSQL went away was seen never to complete (a stopped server, its connections closed):
/// the call would wait forever, holding its session's gate and queueing every later call of
/// that session behind it. Closing the channel fails the query (PostgreSQL rolls back what the
/// connection's transaction did) and the pool opens a new connection.
final class HeldConnection: Sendable {
    @TaskLocal static var current: HeldConnection?
    private let connection = Mutex<PostgresConnection?>(nil)

    /// Called by whoever leased `conn` inside the operation.
    static func attachCurrent(_ conn: PostgresConnection) {
        current?.connection.withLock { $0 = conn }
    }

    static func detachCurrent() {
        current?.connection.withLock { $0 = nil }
    }

    func close() {
        if let conn = connection.withLock({ $0 }) { let _: EventLoopFuture<Void> = conn.close() }
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

extension PostgresConnection {
    /// `query`, refused at once on a connection that is closed already. postgres-nio writes a
    /// query to its channel without a write promise: on a channel that has closed (its handlers
    /// removed) the query is dropped and its result never arrives (seen: PostgreSQL stopped
    /// mid-transaction, the next statement hung the call, and its session's later calls behind
    /// it, for good). The check alone left a window: from another thread, postgres-nio hands the
    /// write to the event loop for later, and the channel could close in between. So the check
    /// and the write run on the connection's event loop in one uninterrupted step (the event
    /// loop as the task's executor), and the channel can only close on that event loop, before
    /// the step (the check refuses the query) or after it (the handler holds the query and fails
    /// it when the channel goes inactive). Tested: `test_postgres_query_race.py`.
    @discardableResult
    func checkedQuery(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
            try await self.queryIfOpen(query, logger: logger, file: file, line: line)
        }
    }

    /// Nonisolated, so it runs on the preferred executor (the event loop) with `query`'s write.
    private nonisolated func queryIfOpen(
        _ query: PostgresQuery, logger: Logger, file: String, line: Int
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw StoreError(.database, "the connection to PostgreSQL is closed") }
        return try await self.query(query, logger: logger, file: file, line: line)
    }

    /// A prepared statement (prepared on this connection at its first use), refused at once on
    /// a closed connection exactly as ``checkedQuery(_:logger:file:line:)`` refuses a query.
    func checkedExecute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger
    ) async throws -> [Statement.Row] {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
            try await self.executeIfOpen(statement, logger: logger)
        }
    }

    private nonisolated func executeIfOpen<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger
    ) async throws -> [Statement.Row] {
        guard !isClosed else { throw StoreError(.database, "the connection to PostgreSQL is closed") }
        var rows: [Statement.Row] = []
        for try await row in try await self.execute(statement, logger: logger) { rows.append(row) }
        return rows
    }

    /// The unguarded form (`query` after a check made off the event loop), kept only for the
    /// test that shows the window `checkedQuery` closes (`kato-server test-postgres-query-race`).
    func racyQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw StoreError(.database, "the connection to PostgreSQL is closed") }
        return try await self.query(query, logger: logger)
    }
}

/// An event loop as a task executor (SE-0417): jobs of a task that prefers it run on the loop's
/// thread, so nonisolated async code there runs in step with the channel's own events.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
