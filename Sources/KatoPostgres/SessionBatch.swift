import KatoStore
import Logging
import Metrics
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Group commit of speculative session calls (docs/SCALING.md, "Batched session writes"). A
/// speculative call's fetch or conditional write (`+Speculative.swift`) is not sent on a
/// connection of its own: it joins the replica's queue, and a *lane* sends everything queued as
/// one statement — one parse/bind/execute, one implicit transaction, one commit — while the next
/// batch forms behind it. At most ``lanes`` statements are in flight per replica (one per lane,
/// each lane on a connection of its own, kept across batches: no pool lease per batch; a lost
/// one is replaced at the next batch), so under load a batch holds what arrived
/// while the previous ones ran, and with little load a request is sent at once, alone.
///
/// Each request's outcome is its own: its row was written (its condition held), or the current
/// row comes back and that call alone runs again, or the row was expired and the call goes to
/// the locked path. A call is answered only after the statement that wrote its row committed.
/// The statement takes its rows' locks with `SKIP LOCKED`, so a batch never waits for (or
/// deadlocks with) another batch or a locked call: a row someone holds — or a missing one — is
/// not answered (`.held`), and that call sends its request alone (`SessionWriteAlone.swift`),
/// which waits for the row (or finds it missing: the locked path).
final class SessionBatcher: Sendable {
    /// What a call asks of the batch.
    struct Request: Sendable {
        enum Kind: Int16 {
            /// Read the row (the call has no copy of it).
            case fetch = 0
            /// The expiry slides, on condition.
            case touch = 1
            /// New state, TTL and sequence, on condition.
            case update = 2
        }
        var kind: Kind
        var id: String
        /// The row version (`xmin`) the call ran on (not for a fetch).
        var token: Int64 = 0
        var state = ByteBuffer()
        var ttl: Int64 = 0
        var sequence: Int64 = 0
        /// The knowledge-base version the call's prediction reflected.
        var applied: Int64 = 0
    }

    fileprivate struct Waiting {
        let request: Request
        let continuation: CheckedContinuation<PostgresSessionStore.WriteOutcome?, any Error>
    }

    fileprivate struct Queue {
        var pending: [Waiting] = []
        var idleLanes: Int
        /// The idle lanes' connections (a lane takes one when it starts, puts it back when it
        /// idles, in the same locked step as its idling: never more than ``lanes`` of them).
        var connections: [PostgresConnection] = []
        var closed = false
    }

    fileprivate let queue: Mutex<Queue>
    /// Statements in flight at once (each on one pool connection while it runs).
    let lanes: Int
    /// Most requests in one statement.
    static let maxBatch = 256

    /// `kato_session_batches_total` / `kato_session_batched_requests_total`: statements sent and
    /// the requests they carried (their ratio is the mean batch size).
    static let batches = Counter(label: "kato_session_batches_total")
    static let batched = Counter(label: "kato_session_batched_requests_total")
    /// `kato_session_batches_refused_total`: statements PostgreSQL refused (their calls reran alone).
    static let refused = Counter(label: "kato_session_batches_refused_total")

    init(lanes: Int) {
        self.lanes = max(1, lanes)
        queue = Mutex(Queue(idleLanes: max(1, lanes)))
    }

    /// Takes up to `maxBatch` queued requests, at most one per session (a second request of a
    /// session waits for the next batch: one statement updates a row once); none: the lane idles.
    fileprivate func next(_ connection: inout PostgresConnection?) -> [Waiting] {
        queue.withLock { q in
            if q.pending.isEmpty {
                q.idleLanes += 1
                if let c = connection, !c.isClosed {
                    if q.closed { Self.closeKeepingAlive(c) } else { q.connections.append(c) }
                }
                connection = nil
                return []
            }
            if q.pending.count == 1 {
                defer { q.pending.removeAll(keepingCapacity: true) }
                return q.pending
            }
            var taken: [Waiting] = [], left: [Waiting] = [], ids = Set<String>()
            taken.reserveCapacity(min(q.pending.count, Self.maxBatch))
            for w in q.pending {
                if taken.count < Self.maxBatch, ids.insert(w.request.id).inserted { taken.append(w) } else { left.append(w) }
            }
            q.pending = left
            return taken
        }
    }

    /// Closes the idle lanes' connections (the store closes); a busy lane's closes when it idles.
    func close() {
        let idle = queue.withLock { q in
            q.closed = true
            defer { q.connections.removeAll() }
            return q.connections
        }
        for c in idle { Self.closeKeepingAlive(c) }
    }

    /// Closes `c` and holds it until the close completed: a connection released before that
    /// trips postgres-nio's "deinitialized before being closed" assertion (a debug build's
    /// replica crashed on every SIGTERM).
    private static func closeKeepingAlive(_ c: PostgresConnection) {
        let closed: EventLoopFuture<Void> = c.close()
        closed.whenComplete { _ in withExtendedLifetime(c) {} }
    }
}

extension PostgresSessionStore {
    /// Queues `request` for the next batch statement and waits for its outcome: nil when the
    /// statement was refused by PostgreSQL (nothing of it committed; the call goes to the locked
    /// path, alone); throws when PostgreSQL could not be reached or did not answer (the
    /// statement may or may not have committed: the call fails, as a single write would).
    func batched(_ request: SessionBatcher.Request) async throws -> WriteOutcome? {
        try await withCheckedThrowingContinuation { continuation in
            let start: (Bool, PostgresConnection?) = batcher.queue.withLock { q in
                q.pending.append(.init(request: request, continuation: continuation))
                guard q.idleLanes > 0 else { return (false, nil) }
                q.idleLanes -= 1
                return (true, q.connections.popLast())
            }
            if start.0 {
                // On an event loop of postgres-nio's group (the lane's connection's): the
                // statement's write and its answer run there, without a hop through the global
                // executor.
                let connection = start.1
                let loop = connection?.eventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
                Task(executorPreference: EventLoopTaskExecutor(loop)) {
                    await self.runLane(connection, on: loop)
                }
            }
        }
    }

    /// A lane: sends batches while requests are queued, then idles.
    private func runLane(_ connection: PostgresConnection?, on loop: any EventLoop) async {
        var connection = connection
        while true {
            let batch = batcher.next(&connection)
            if batch.isEmpty { return }
            SessionBatcher.batches.increment()
            SessionBatcher.batched.increment(by: batch.count)
            do {
                let outcomes = try await send(batch.map(\.request), on: &connection, loop: loop)
                for (i, w) in batch.enumerated() { w.continuation.resume(returning: outcomes?[i]) }
            } catch {
                for w in batch { w.continuation.resume(throwing: error) }
            }
        }
    }

    /// One statement for `requests`; an outcome per request, in order, or nil when PostgreSQL
    /// refused the statement (an error it reported: the implicit transaction rolled back).
    private func send(
        _ requests: [SessionBatcher.Request], on connection: inout PostgresConnection?, loop: any EventLoop
    ) async throws -> [WriteOutcome]? {
        let statement = BatchStatement(requests)
        let rows: [BatchRow]? = try await laneExecute(statement, on: &connection, loop: loop, calls: requests.count)
        guard let rows else { return nil }
        var outcomes = [WriteOutcome](repeating: .held, count: requests.count)  // no row: missing or held elsewhere
        for r in rows {
            let index = Int(r.0) - 1  // WITH ORDINALITY counts from 1
            guard outcomes.indices.contains(index) else { continue }
            let (_, written, token, nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging, kbVersion) = r
            outcomes[index] = Self.outcome(
                (written, token, nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging, kbVersion),
                id: requests[index].id)
        }
        return outcomes
    }
}

extension PostgresSessionStore {
    /// `statement` on the lane's connection (a new one when it has none or lost it), through the
    /// store's circuit breaker, bounded as a pooled operation is: past `OperationTimeout.bound`
    /// without an answer the connection is closed, which fails the statement (postgres-nio does
    /// not end a query it sent when its task is cancelled). nil: PostgreSQL refused it. On any
    /// other failure the connection is dropped and the next batch connects anew.
    fileprivate func laneExecute(
        _ statement: BatchStatement, on connection: inout PostgresConnection?, loop: any EventLoop, calls: Int
    ) async throws -> [BatchRow]? {
        guard status.allowRequest() else {
            throw StoreError(.circuitOpen, "the store's circuit breaker is open; session calls are refused for now")
        }
        do {
            let conn: PostgresConnection
            if let c = connection, !c.isClosed {
                conn = c
            } else {
                connection = nil
                conn = try await laneConnect(on: loop)
                connection = conn
            }
            // A timer on the connection's event loop, not a task group and a second task per
            // batch (the pooled path's `OperationTimeout.run`): that was per-batch overhead.
            let timedOut = OperationProgress()
            let timer = conn.eventLoop.scheduleTask(in: .nanoseconds(OperationTimeout.bound.nanoseconds)) {
                timedOut.markStarted()
                let _: EventLoopFuture<Void> = conn.close()
            }
            defer { timer.cancel() }
            do {
                let rows = try await conn.checkedExecute(statement, logger: logger)
                status.recordReachable()
                return rows
            } catch let error as PSQLError where error.code == .server {
                status.recordReachable()
                SessionBatcher.refused.increment()
                logger.warning("a batch of session calls was refused; each runs again alone", metadata: [
                    "calls": "\(calls)", "error": "\(error.serverInfo?[.message] ?? "")"])
                return nil
            } catch {
                guard timedOut.started.load(ordering: .acquiring) else { throw error }
                throw StoreError(.database, "PostgreSQL did not answer within \(OperationTimeout.bound) (a batch of \(calls) session calls)")
            }
        } catch let error as StoreError {
            status.recordFailure(error)
            if let c = connection { let _: EventLoopFuture<Void> = c.close() }
            connection = nil
            throw error
        } catch {
            let e = StoreError(.database, "PostgreSQL: \(PostgresSetupError.explain(error, settings))")
            status.recordFailure(e)
            if let c = connection { let _: EventLoopFuture<Void> = c.close() }
            connection = nil
            throw e
        }
    }

    /// A lane's own connection, with the session pool's startup parameters (durable commits,
    /// generic plans), bounded as a pool lease is.
    private func laneConnect(on loop: any EventLoop) async throws -> PostgresConnection {
        var configuration = try settings.connectionConfiguration()
        configuration.options.additionalStartupParameters += [
            ("synchronous_commit", "on"), ("plan_cache_mode", "force_generic_plan")]
        let logger = self.logger
        let config = configuration
        return try await OperationTimeout.run("a connection for the session batches") {
            try await PostgresConnection.connect(on: loop, configuration: config, id: 0, logger: logger)
        }
    }
}

/// A batch statement's answer: the request's position (from 1), then ``SpeculativeRow``.
typealias BatchRow = (Int64, Bool, Int64, String, Bool, String?, Double, ByteBuffer, ByteBuffer, Int64, Int64, Bool, Bool, Int64)

/// The batch as one statement (one implicit transaction), kept small because PostgreSQL's cost
/// per execution grows with the plan's nodes (executor start-up was a quarter of its time in a
/// profile of a larger form). `h`: each request's row, locked (`FOR NO KEY UPDATE … SKIP
/// LOCKED`: a row another transaction holds is left out, never waited for), as its latest
/// committed version, with its node's committed knowledge-base version; `w`: the conditional
/// writes whose condition holds — the row is the version the call ran on (`xmin`), alive, and
/// no knowledge-base change of its node was committed past what the call's prediction
/// reflected. Answer: a row per request found — written (its new `xmin`) or not (the current
/// row); none for a row missing or held elsewhere (the call then tries alone).
private struct BatchStatement: PostgresPreparedStatement {
    static let name = "kato_session_batch"
    static let sql = """
        WITH h AS (
            SELECT b.ord, b.kind, b.token AS want, b.state AS new_state, b.ttl AS new_ttl, b.sequence AS new_sequence,
                   b.applied, s.id, s.xmin::text::int8 AS token, s.node_id, s.is_default, s.owner, s.created_at, s.metadata,
                   s.state, s.ttl_ms, s.sequence, coalesce(s.expires_at <= now(), false) AS expired,
                   coalesce(s.log_until > now(), false) AS logging,
                   coalesce((SELECT version FROM kb_nodes k WHERE k.node_id = s.node_id), 0) AS kb
            FROM unnest($1::text[], $2::int8[], $3::int2[], $4::bytea[], $5::int8[], $6::int8[], $7::int8[])
                     WITH ORDINALITY AS b(id, token, kind, state, ttl, sequence, applied, ord)
                 JOIN kato_sessions s ON s.id = b.id
            FOR NO KEY UPDATE OF s SKIP LOCKED),
        w AS (
            UPDATE kato_sessions s SET
                state = CASE WHEN h.kind = 2 THEN h.new_state ELSE s.state END,
                ttl_ms = CASE WHEN h.kind = 2 THEN h.new_ttl ELSE s.ttl_ms END,
                sequence = CASE WHEN h.kind = 2 THEN h.new_sequence ELSE s.sequence END,
                updated_at = now(),
                expires_at = CASE WHEN s.is_default THEN NULL
                    ELSE now() + (CASE WHEN h.kind = 2 THEN h.new_ttl ELSE s.ttl_ms END) * interval '1 millisecond' END
            FROM h
            WHERE s.id = h.id AND h.kind > 0 AND h.token = h.want AND NOT h.expired AND h.kb <= h.applied
            RETURNING h.ord, s.xmin::text::int8 AS token)
        SELECT h.ord, w.ord IS NOT NULL, coalesce(w.token, h.token), h.node_id, h.is_default, h.owner,
               extract(epoch FROM h.created_at)::float8, CASE WHEN w.ord IS NULL THEN h.metadata ELSE '\\x'::bytea END,
               CASE WHEN w.ord IS NULL THEN h.state ELSE '\\x'::bytea END, h.ttl_ms, h.sequence, h.expired, h.logging, h.kb
        FROM h LEFT JOIN w ON w.ord = h.ord
        """
    typealias Row = BatchRow
    let ids: [String], tokens: [Int64], kinds: [Int16], states: [ByteBuffer], ttls: [Int64], sequences: [Int64], applied: [Int64]

    init(_ requests: [SessionBatcher.Request]) {
        ids = requests.map(\.id)
        tokens = requests.map(\.token)
        kinds = requests.map(\.kind.rawValue)
        states = requests.map(\.state)
        ttls = requests.map(\.ttl)
        sequences = requests.map(\.sequence)
        applied = requests.map(\.applied)
    }

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 7)
        b.append(ids)
        b.append(tokens)
        b.append(kinds)
        b.append(states)
        b.append(ttls)
        b.append(sequences)
        b.append(applied)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
