import Foundation
import KatoStore
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Synchronization

/// Sessions shared by every replica (docs/SCALING.md). Every call on a session runs inside
/// ``withLocked(id:creatingDefault:_:)``: one transaction that reads the row `FOR UPDATE` — the
/// row lock serialises the session's calls across replicas — lets the call run on that state,
/// writes the result back and commits before the call answers. Its own connection pool (a call
/// holding a session row may also need a knowledge-base connection: one pool could deadlock).
public final class PostgresSessionStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    let status: StoreStatus
    let settings: PostgresSettings
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    /// What this replica last knew of each session, for speculative calls (`+Speculative.swift`).
    let cache = SessionCache()
    /// The speculative calls' fetches and writes, sent in batches (`SessionBatch.swift`).
    let batcher: SessionBatcher
    private let inUse = Atomic<Int>(0)
    private let poolInUse = Gauge(label: "kato_postgres_session_pool_in_use")
    /// A session call's time holding its row (load, the call's work, write-back, commit).
    let leaseSeconds = Metrics.Timer(label: "kato_session_store_seconds")
    /// The advisory lock of the expired-session cleanup ("kses"): one replica at a time runs it.
    static let cleanupLock: Int64 = 0x6B73_6573
    /// How long a session call may hold its row, connection lease included; past it UNAVAILABLE.
    public static let bound: Duration = .seconds(10)

    init(settings: PostgresSettings, poolSize: Int, status: StoreStatus, logger: Logger) throws(PostgresSetupError) {
        self.settings = settings
        var configuration = try settings.poolConfiguration(size: poolSize)
        // Generic plans for the session pool's prepared statements: PostgreSQL otherwise judges
        // the batch statement's plan for each set of arrays cheaper than the generic one and
        // plans it at every execution — 38 % of its CPU under load (docs/BENCHMARKS.md). The
        // pool's other statements are key lookups, which a generic plan serves as well.
        configuration.options.additionalStartupParameters.append(("plan_cache_mode", "force_generic_plan"))
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.status = status
        self.batcher = SessionBatcher(lanes: Self.lanes(poolSize: poolSize))
        let client = self.client
        task.withLock { $0 = Task { await client.run() } }
        poolInUse.record(0)
    }

    /// Batch statements in flight at once: 1 (classic group commit: the next batch forms while
    /// one runs; measured with 16 and 64 calls in flight, a second lane only made batches
    /// smaller, docs/BENCHMARKS.md); `KATO_POSTGRES_SESSION_LANES` overrides it (measurements).
    static func lanes(poolSize: Int) -> Int {
        if let v = ProcessInfo.processInfo.environment["KATO_POSTGRES_SESSION_LANES"], let n = Int(v), n >= 1 {
            return min(n, poolSize)
        }
        return 1
    }

    func close() {
        batcher.close()
        task.withLock { $0?.cancel() }
    }

    /// Inserts a new session; false when `limit` sessions exist already. Exact across replicas:
    /// the INSERT locks the session count row (`FOR UPDATE`, schema v4) and inserts only while it
    /// is below `limit`; its trigger adds the new row to it before the lock is released at the
    /// statement's commit, so creations serialise on one row for one statement (O(1)).
    public func insert(_ row: SessionRow, limit: Int) async throws -> Bool {
        try await guarded("the creation of a session") { [self] conn in
            if try await insertRow(conn, row, limit: limit) { return true }
            // Refused: the limit, or a count row a PostgreSQL crash emptied (UNLOGGED): recount.
            guard try await repairCount(conn) else { return false }
            return try await insertRow(conn, row, limit: limit)
        }
    }

    private func insertRow(_ conn: PostgresConnection, _ row: SessionRow, limit: Int) async throws -> Bool {
        var inserted = 0
        for try await _ in try await conn.checkedQuery("""
            WITH counted AS (SELECT live FROM kato_session_count WHERE id = 1 FOR UPDATE)
            INSERT INTO kato_sessions (id, node_id, is_default, owner, created_at, metadata, state, ttl_ms, expires_at, sequence)
            SELECT \(row.id), \(row.nodeID), false, \(row.owner), to_timestamp(\(row.createdAt)),
                   \(ByteBuffer(bytes: row.metadata)), \(ByteBuffer(bytes: row.state)), \(row.ttlMilliseconds),
                   now() + \(row.ttlMilliseconds) * interval '1 millisecond', \(row.sequence)
            FROM counted WHERE counted.live < \(Int64(limit))
            RETURNING 1
            """, logger: logger).decode(Int32.self) { inserted += 1 }
        return inserted == 1
    }

    /// Recreates a missing session count row (true when it was missing).
    private func repairCount(_ conn: PostgresConnection) async throws -> Bool {
        var present = false
        for try await _ in try await conn.checkedQuery("SELECT 1 FROM kato_session_count", logger: logger).decode(Int32.self) {
            present = true
        }
        if present { return false }
        try await conn.checkedQuery("BEGIN", logger: logger)
        do {
            for statement in PostgresSchema.sessionCountRepair { try await conn.checkedQuery(statement, logger: logger) }
            try await conn.checkedQuery("COMMIT", logger: logger)
        } catch {
            _ = try? await conn.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
        logger.warning("the session count row was missing (PostgreSQL restarted after a crash?): recounted")
        return true
    }

    /// Runs `body` on the session `id` holding its row lock in one transaction, and applies the
    /// write-back it returns before committing. `creatingDefault`: a node's default session,
    /// inserted first when missing. When `body` throws, nothing is written (ROLLBACK).
    public func withLocked<R>(
        id: String, creatingDefault: SessionRow?, _ body: (SessionLookup) async throws -> (R, SessionWriteBack)
    ) async throws -> R {
        let started = ContinuousClock.now
        defer { leaseSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds) }
        cache.forget(id)  // this call changes the row (its `xmin`): a cached copy would be stale
        return try await withoutActuallyEscaping(body) { body in
            // Runs in the child task while this one waits for it: never used concurrently.
            let work = UncheckedLockedBody(run: body)
            let progress = OperationProgress()
            return try await guarded("session '\(id)'", bound: Self.bound, progress: progress) { [self] conn in
                try await locked(conn, id: id, creatingDefault: creatingDefault, progress: progress, work.run)
            }
        }
    }

    private func locked<R>(
        _ conn: PostgresConnection, id: String, creatingDefault: SessionRow?, progress: OperationProgress,
        _ body: (SessionLookup) async throws -> (R, SessionWriteBack)
    ) async throws -> R {
        try await conn.checkedQuery("BEGIN", logger: logger)
        progress.markStarted()  // PostgreSQL answers: the call may hold the row for up to `bound`
        do {
            if let d = creatingDefault {
                try await conn.checkedQuery("""
                    INSERT INTO kato_sessions (id, node_id, is_default, owner, metadata, state, ttl_ms, expires_at)
                    VALUES (\(d.id), \(d.nodeID), true, NULL, \(ByteBuffer(bytes: d.metadata)), \(ByteBuffer(bytes: d.state)), 0, NULL)
                    ON CONFLICT (id) DO NOTHING
                    """, logger: logger)
            }
            var found: (SessionRow, Bool)?
            for try await (nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging) in try await conn.checkedQuery("""
                SELECT node_id, is_default, owner, extract(epoch FROM created_at)::float8, metadata, state, ttl_ms, sequence,
                       coalesce(expires_at <= now(), false), coalesce(log_until > now(), false)
                FROM kato_sessions WHERE id = \(id) FOR UPDATE
                """, logger: logger).decode((String, Bool, String?, Double, ByteBuffer, ByteBuffer, Int64, Int64, Bool, Bool).self) {
                found = (SessionRow(
                    id: id, nodeID: nodeID, isDefault: isDefault, owner: owner, createdAt: created,
                    metadata: Array(metadata.readableBytesView), state: Array(state.readableBytesView),
                    ttlMilliseconds: ttl, sequence: sequence, logging: logging), expired)
            }
            guard let (row, expired) = found else {
                var remembered = false
                for try await _ in try await conn.checkedQuery(
                    "SELECT 1 FROM kato_sessions_expired WHERE id = \(id)", logger: logger
                ).decode(Int32.self) { remembered = true }
                try await conn.checkedQuery("COMMIT", logger: logger)
                return try await Self.call { try await body(remembered ? .expired : .missing).0 }
            }
            if expired {
                try await conn.checkedQuery("DELETE FROM kato_sessions WHERE id = \(id)", logger: logger)
                try await conn.checkedQuery("DELETE FROM kato_session_updates WHERE session_id = \(id)", logger: logger)
                try await conn.checkedQuery(
                    "INSERT INTO kato_sessions_expired (id) VALUES (\(id)) ON CONFLICT (id) DO NOTHING", logger: logger)
                try await conn.checkedQuery("COMMIT", logger: logger)
                return try await Self.call { try await body(.expired).0 }
            }
            let (result, writeBack) = try await Self.call { try await body(.found(row)) }
            let expiry = row.isDefault ? "NULL" : "now() + ttl_ms * interval '1 millisecond'"
            switch writeBack.change {
            case .update(let state, let ttl, let sequence):
                try await conn.checkedQuery(PostgresQuery(unsafeSQL: """
                    UPDATE kato_sessions SET state = $1, ttl_ms = $2, sequence = $3, updated_at = now(), expires_at = \
                    \(row.isDefault ? "NULL" : "now() + $2 * interval '1 millisecond'") WHERE id = $4
                    """, binds: try Self.binds(ByteBuffer(bytes: state), ttl, sequence, id)), logger: logger)
            case .touch:
                try await conn.checkedQuery(PostgresQuery(unsafeSQL: """
                    UPDATE kato_sessions SET updated_at = now(), expires_at = \(expiry) WHERE id = $1
                    """, binds: try Self.binds(id)), logger: logger)
            case .delete:
                try await conn.checkedQuery("DELETE FROM kato_sessions WHERE id = \(id)", logger: logger)
                try await conn.checkedQuery("DELETE FROM kato_session_updates WHERE session_id = \(id)", logger: logger)
            }
            if case .delete = writeBack.change {} else {
                try await log(writeBack, id: id, conn)
            }
            try await conn.checkedQuery("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await conn.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Appends the call's updates to the session's log (dropping what falls out of its bound),
    /// announces the last one (`S:SEQUENCE:ID` on the knowledge base's channel: subscribers on
    /// every replica fetch it), and keeps the log on while a subscriber here wants it.
    private func log(_ writeBack: SessionWriteBack, id: String, _ conn: PostgresConnection) async throws {
        if writeBack.subscribing {
            try await conn.checkedQuery(
                "UPDATE kato_sessions SET log_until = now() + interval '2 minutes' WHERE id = \(id)", logger: logger)
        }
        guard let last = writeBack.updates.last?.sequence else { return }
        for (sequence, update) in writeBack.updates {
            try await conn.checkedQuery("""
                INSERT INTO kato_session_updates (session_id, sequence, update) VALUES (\(id), \(sequence), \(ByteBuffer(bytes: update)))
                ON CONFLICT (session_id, sequence) DO UPDATE SET update = EXCLUDED.update
                """, logger: logger)
        }
        try await conn.checkedQuery(
            "DELETE FROM kato_session_updates WHERE session_id = \(id) AND sequence <= \(last - Self.logLength)", logger: logger)
        try await conn.checkedQuery("SELECT pg_notify(\(PostgresKnowledgeStore.channel), \("S:\(last):\(id)"))", logger: logger)
    }

    /// Updates a session's log keeps (per session; older ones answer a resume with a gap marker).
    public static let logLength: Int64 = 256

    /// The session's updates after `sequence` still in its log, its sequence and state now; nil
    /// when the session is gone (deleted or expired).
    public func updates(of id: String, after sequence: Int64) async throws -> SessionUpdates? {
        try await guarded("the updates of session '\(id)'") { [self] conn in
            var current: (Int64, [UInt8])?
            for try await (seq, state) in try await conn.checkedQuery(
                "SELECT sequence, state FROM kato_sessions WHERE id = \(id) AND coalesce(expires_at > now(), true)", logger: logger
            ).decode((Int64, ByteBuffer).self) { current = (seq, Array(state.readableBytesView)) }
            guard let (now, state) = current else { return nil }
            var updates: [(sequence: Int64, update: [UInt8])] = []
            if now > sequence {
                for try await (seq, update) in try await conn.checkedQuery("""
                    SELECT sequence, update FROM kato_session_updates WHERE session_id = \(id) AND sequence > \(sequence)
                    AND sequence <= \(now) ORDER BY sequence
                    """, logger: logger).decode((Int64, ByteBuffer).self) { updates.append((seq, Array(update.readableBytesView))) }
            }
            return SessionUpdates(sequence: now, state: state, updates: updates)
        }
    }

    /// Keeps logging the updates of sessions subscribed here (called well within 2 minutes).
    public func keepLogging(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await guarded("the subscriptions of this replica") { [self] conn in
            _ = try await conn.checkedQuery(
                "UPDATE kato_sessions SET log_until = now() + interval '2 minutes' WHERE id = ANY(\(ids))", logger: logger)
        }
    }

    /// Called with (session id, sequence) for every session update any replica announces.
    public let onUpdate = Mutex<(@Sendable (String, Int64) -> Void)?>(nil)

    /// `S:SEQUENCE:ID` from the change feed; false when the payload is not one.
    func notified(_ payload: String) -> Bool {
        guard payload.hasPrefix("S:") else { return false }
        let rest = payload.dropFirst(2)
        guard let colon = rest.firstIndex(of: ":"), let sequence = Int64(rest[..<colon]), sequence > 0 else { return false }
        let id = String(rest[rest.index(after: colon)...])
        guard !id.isEmpty else { return false }
        onUpdate.withLock { $0 }?(id, sequence)
        return true
    }

    private static func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values { try b.append(v) }
        return b
    }

    /// Live sessions (not a node's default session) of `nodeID`, or of every node when nil.
    public func count(nodeID: String?) async throws -> Int {
        try await guarded("a count of sessions") { [self] conn in
            var n = 0
            for try await c in try await conn.checkedQuery("""
                SELECT count(*) FROM kato_sessions
                WHERE NOT is_default AND expires_at > now() AND (\(nodeID ?? "") = '' OR node_id = \(nodeID ?? ""))
                """, logger: logger).decode(Int64.self) { n = Int(c) }
            return n
        }
    }

    /// Removes expired sessions (at most 10,000 a round), remembering their ids for a day, and
    /// forgets older ids. One replica at a time: the others find the advisory lock taken and
    /// skip the round; rows a call holds right now are skipped (SKIP LOCKED). Returns how many.
    public func removeExpired() async throws -> Int {
        try await guarded("the cleanup of expired sessions") { [self] conn in
            try await conn.checkedQuery("BEGIN", logger: logger)
            do {
                var ours = false
                for try await got in try await conn.checkedQuery(
                    "SELECT pg_try_advisory_xact_lock(\(Self.cleanupLock))", logger: logger
                ).decode(Bool.self) { ours = got }
                var removed = 0
                if ours {
                    for try await n in try await conn.checkedQuery("""
                        WITH gone AS (
                            DELETE FROM kato_sessions WHERE id IN (
                                SELECT id FROM kato_sessions WHERE expires_at <= now()
                                ORDER BY expires_at LIMIT 10000 FOR UPDATE SKIP LOCKED)
                            RETURNING id),
                        remembered AS (INSERT INTO kato_sessions_expired (id) SELECT id FROM gone ON CONFLICT (id) DO NOTHING),
                        logs AS (DELETE FROM kato_session_updates WHERE session_id IN (SELECT id FROM gone))
                        SELECT count(*) FROM gone
                        """, logger: logger).decode(Int64.self) { removed = Int(n) }
                    try await conn.checkedQuery(
                        "DELETE FROM kato_sessions_expired WHERE expired_at < now() - interval '1 day'", logger: logger)
                }
                try await conn.checkedQuery("COMMIT", logger: logger)
                return removed
            } catch {
                _ = try? await conn.checkedQuery("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// An error of the call's own work, carried through the transaction untouched.
    struct CallError: Error {
        let error: any Error
    }

    /// Runs the call's work; its errors are marked as the call's (not PostgreSQL's).
    private static func call<R>(_ body: () async throws -> R) async throws -> R {
        do { return try await body() } catch { throw CallError(error: error) }
    }

    /// A connection for `body`, bounded, through the store's circuit breaker: failures count
    /// towards it, and once it is open calls fail at once (CIRCUIT_OPEN).
    func guarded<R>(
        _ what: String, bound: Duration = OperationTimeout.bound, progress: OperationProgress? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        guard status.allowRequest() else {
            throw StoreError(.circuitOpen, "the store's circuit breaker is open; session calls are refused for now")
        }
        do {
            let result = try await OperationTimeout.run(what, bound: bound, progress: progress) { [self] in
                try await client.withConnection { conn in
                    poolInUse.record(inUse.add(1, ordering: .relaxed).newValue)
                    HeldConnection.attachCurrent(conn)
                    defer {
                        HeldConnection.detachCurrent()
                        poolInUse.record(inUse.subtract(1, ordering: .relaxed).newValue)
                    }
                    return try await body(conn)
                }
            }
            status.recordReachable()
            return result
        } catch let error as CallError {
            // The call's own error (validation, not found…): PostgreSQL answered.
            status.recordReachable()
            throw error.error
        } catch let error as StoreError {
            status.recordFailure(error)
            throw error
        } catch {
            let e = StoreError(.database, "PostgreSQL: \(PostgresSetupError.explain(error, settings))")
            status.recordFailure(e)
            throw e
        }
    }
}

/// A session call's body handed to the pool's closure (see ``PostgresSessionStore/withLocked``).
struct UncheckedLockedBody<R>: @unchecked Sendable {
    let run: (SessionLookup) async throws -> (R, SessionWriteBack)
}
