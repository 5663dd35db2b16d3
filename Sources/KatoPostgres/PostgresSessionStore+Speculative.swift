import KatoStore
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Synchronization

/// Session calls without a row lock (docs/SCALING.md, "Speculative session calls"). The call runs
/// on the copy of the session this replica last saw (fetched when it has none), then writes the
/// result back in one statement on condition that the row is still that copy — same `xmin`, the
/// transaction that wrote the row version, which any write by anyone changes — that it has not
/// expired, and that PostgreSQL has committed no knowledge-base change the call's prediction
/// missed (``DeferredVersionCheck``). When the condition holds the statement commits and the call
/// answers: one round trip. When it does not, the same statement returns the current row, and
/// the call runs again on it. Calls of one session are thus serialised as under the row lock: each
/// commit is made on the state the previous commit left, and nothing is answered uncommitted.
///
/// What cannot be taken back is not speculative: a call that writes the knowledge base, deletes
/// the session, subscribes, or touches a session whose updates are logged for subscribers; a
/// session that is missing or expired; a call whose work failed (its error may come from a stale
/// copy). `speculate` then returns nil and the caller runs the locked path.
extension PostgresSessionStore {
    /// `kato_session_speculative_total{outcome}`: committed in one statement (the copy here was
    /// current), committed after fetching or being handed the current row, or left to the locked path.
    private static let current = Counter(label: "kato_session_speculative_total", dimensions: [("outcome", "current")])
    private static let refreshed = Counter(label: "kato_session_speculative_total", dimensions: [("outcome", "refreshed")])
    private static let fellBack = Counter(label: "kato_session_speculative_total", dimensions: [("outcome", "locked")])

    /// Attempts before giving up to the locked path (contention on one session).
    static let speculativeAttempts = 3

    /// Runs `body` on the session `id` speculatively (see above); nil: run the locked path.
    /// `body` may run more than once (each run's result but the committed one is dropped).
    /// One connection and one bound (`bound`, PostgreSQL answering within the first 3 s) for all
    /// of it, as a locked call has: a fetch, the call's work and the write share them.
    public func speculate<R>(
        id: String, _ body: (SessionRow) async throws -> (R, SessionWriteBack)
    ) async throws -> R? {
        let known: CachedSession?
        switch cache.entry(id) {
        case .locked:
            Self.fellBack.increment()
            return nil
        case .row(let c): known = c
        case nil: known = nil
        }
        let started = ContinuousClock.now
        defer { leaseSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds) }
        var failed = true
        defer { if failed { cache.forget(id) } }  // PostgreSQL failed: the row may or may not have changed
        let (result, statements) = try await withoutActuallyEscaping(body) { body in
            // Runs in the child task while this one waits for it: never used concurrently.
            let work = UncheckedSpeculativeBody(run: body)
            let progress = OperationProgress()
            return try await guarded("session '\(id)'", bound: Self.bound, progress: progress) { [self] conn in
                var statements = 0
                let result = try await speculating(conn, id, known, progress, &statements, work.run)
                return (UncheckedResult(value: result), statements)
            }
        }
        failed = false
        (result.value == nil ? Self.fellBack : statements == 1 ? Self.current : Self.refreshed).increment()
        return result.value
    }

    /// `speculate`'s attempts on `conn`; `statements` counts the round trips made.
    private func speculating<R>(
        _ conn: PostgresConnection, _ id: String, _ cached: CachedSession?, _ progress: OperationProgress,
        _ statements: inout Int, _ body: (SessionRow) async throws -> (R, SessionWriteBack)
    ) async throws -> R? {
        var known = cached
        var required: Int64 = 0  // the knowledge-base version memory must reach first
        for _ in 0..<Self.speculativeAttempts {
            if known == nil {
                statements += 1
                guard let (fetched, version) = try await fetch(conn, id, progress) else { return nil }
                known = fetched
                required = version
            }
            let copy = known!
            let check = DeferredVersionCheck(nodeID: copy.row.nodeID, required: required)
            let result: R, writeBack: SessionWriteBack
            do {
                (result, writeBack) = try await DeferredVersionCheck.$current.withValue(check) { try await body(copy.row) }
            } catch {
                if check.needsLock { cache.markLocked(id) } else { cache.forget(id) }
                return nil
            }
            guard let applied = check.appliedBound, writeBack.updates.isEmpty, !writeBack.subscribing else {
                cache.forget(id)
                return nil
            }
            let outcome: WriteOutcome
            statements += 1
            switch writeBack.change {
            case .delete:
                cache.forget(id)
                return nil
            case .update(let state, let ttl, let sequence):
                outcome = try await write(conn, id, progress, Update(
                    id: id, token: copy.token, state: ByteBuffer(bytes: state), ttl: ttl, sequence: sequence,
                    nodeID: copy.row.nodeID, applied: applied))
                if case .written(let token) = outcome {
                    var row = copy.row
                    row.state = state
                    row.ttlMilliseconds = ttl
                    row.sequence = sequence
                    cache.store(id, CachedSession(row: row, token: token))
                    return result
                }
            case .touch:
                outcome = try await write(conn, id, progress, Touch(id: id, token: copy.token, nodeID: copy.row.nodeID, applied: applied))
                if case .written(let token) = outcome {
                    cache.store(id, CachedSession(row: copy.row, token: token))
                    return result
                }
            }
            guard case .stale(let current, let version) = outcome else {
                cache.forget(id)
                return nil  // gone or expired: the locked path says which
            }
            known = current
            required = version
        }
        cache.forget(id)
        return nil
    }

    enum WriteOutcome {
        case written(token: Int64)
        /// The row changed (or the knowledge base moved on): here it is, with the node's version.
        case stale(CachedSession, kbVersion: Int64)
        /// Missing, expired, or logging for subscribers.
        case gone
    }

    /// The session's row, its token and its node's committed version; nil: not for speculation.
    private func fetch(_ conn: PostgresConnection, _ id: String, _ progress: OperationProgress) async throws -> (CachedSession, Int64)? {
        let rows = try await conn.checkedExecute(Fetch(id: id), logger: logger)
        progress.markStarted()
        guard let row = rows.first, case .stale(let session, let version) = Self.outcome(row, id: id) else {
            cache.forget(id)
            return nil
        }
        return (session, version)
    }

    private func write<S: PostgresPreparedStatement>(
        _ conn: PostgresConnection, _ id: String, _ progress: OperationProgress, _ statement: S
    ) async throws -> WriteOutcome where S.Row == SpeculativeRow {
        let rows = try await conn.checkedExecute(statement, logger: logger)
        progress.markStarted()
        guard let row = rows.first else { return .gone }
        return Self.outcome(row, id: id)
    }

    private static func outcome(_ r: SpeculativeRow, id: String) -> WriteOutcome {
        let (written, token, nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging, kbVersion) = r
        if written { return .written(token: token) }
        if expired || logging { return .gone }
        return .stale(CachedSession(row: SessionRow(
            id: id, nodeID: nodeID, isDefault: isDefault, owner: owner, createdAt: created,
            metadata: Array(metadata.readableBytesView), state: Array(state.readableBytesView),
            ttlMilliseconds: ttl, sequence: sequence, logging: logging), token: token), kbVersion: kbVersion)
    }
}

/// A speculative statement's answer: (written, xmin, then — when not written — the row as
/// ``PostgresSessionStore/fetch``'s columns and the node's committed version).
typealias SpeculativeRow = (Bool, Int64, String, Bool, String?, Double, ByteBuffer, ByteBuffer, Int64, Int64, Bool, Bool, Int64)

/// The columns a speculative call needs of `kato_sessions s` (after `written`).
private let sessionColumns = """
    s.xmin::text::int8, s.node_id, s.is_default, s.owner, extract(epoch FROM s.created_at)::float8, s.metadata, s.state,
    s.ttl_ms, s.sequence, coalesce(s.expires_at <= now(), false), coalesce(s.log_until > now(), false),
    coalesce((SELECT version FROM kb_nodes k WHERE k.node_id = s.node_id), 0)
    """

/// What the write's statement returns when it wrote (`token` the new xmin), or else the row.
private func answer(written: String) -> String {
    """
    SELECT true, token, '', false, NULL::text, 0::float8, '\\x'::bytea, '\\x'::bytea, 0::int8, 0::int8, false, false, 0::int8
    FROM \(written)
    UNION ALL
    SELECT false, \(sessionColumns) FROM kato_sessions s WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM \(written))
    """
}

/// The write's condition: the row as the call saw it (`xmin` = $2), alive, and no knowledge-base
/// change of the node committed past the version the call's prediction reflected.
private func unchanged(node: String, applied: String) -> String {
    """
    id = $1 AND xmin = $2::text::xid AND coalesce(expires_at > now(), true)
    AND coalesce((SELECT version FROM kb_nodes WHERE node_id = \(node)), 0) <= \(applied)
    """
}

private struct Fetch: PostgresPreparedStatement {
    static let name = "kato_session_fetch"
    static let sql = "SELECT false, \(sessionColumns) FROM kato_sessions s WHERE s.id = $1"
    typealias Row = SpeculativeRow
    let id: String
    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 1)
        b.append(id)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The session's new state, sequence and TTL; the expiry slides (PostgreSQL's clock).
private struct Update: PostgresPreparedStatement {
    static let name = "kato_session_update"
    static let sql = """
        WITH written AS (
            UPDATE kato_sessions SET state = $3, ttl_ms = $4, sequence = $5, updated_at = now(),
                expires_at = CASE WHEN is_default THEN NULL ELSE now() + $4 * interval '1 millisecond' END
            WHERE \(unchanged(node: "$6", applied: "$7"))
            RETURNING xmin::text::int8 AS token)
        \(answer(written: "written"))
        """
    typealias Row = SpeculativeRow
    let id: String, token: Int64, state: ByteBuffer, ttl: Int64, sequence: Int64, nodeID: String, applied: Int64
    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 7)
        b.append(id)
        b.append(token)
        b.append(state)
        b.append(ttl)
        b.append(sequence)
        b.append(nodeID)
        b.append(applied)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// State unchanged: only the expiry slides.
private struct Touch: PostgresPreparedStatement {
    static let name = "kato_session_touch"
    static let sql = """
        WITH written AS (
            UPDATE kato_sessions SET updated_at = now(),
                expires_at = CASE WHEN is_default THEN NULL ELSE now() + ttl_ms * interval '1 millisecond' END
            WHERE \(unchanged(node: "$3", applied: "$4"))
            RETURNING xmin::text::int8 AS token)
        \(answer(written: "written"))
        """
    typealias Row = SpeculativeRow
    let id: String, token: Int64, nodeID: String, applied: Int64
    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 4)
        b.append(id)
        b.append(token)
        b.append(nodeID)
        b.append(applied)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// A session as this replica last wrote or read it, and the token (`xmin`) of that row version.
struct CachedSession: Sendable {
    var row: SessionRow
    var token: Int64
}

/// The sessions this replica last saw (one entry per session id, at most `capacity`). An entry
/// is a hint, never an answer: a write made on it succeeds only if the row is still that version.
/// Entries older than `maxAge` are dropped, which also keeps `xmin` (32 bits, it wraps after
/// 2³² transactions) from ever matching a different row version by coincidence.
final class SessionCache: Sendable {
    enum Entry {
        case row(CachedSession)
        /// The session's calls need the locked path (they wrote the knowledge base): until then.
        case locked
    }
    private struct Stored {
        var entry: Entry
        var at: ContinuousClock.Instant
    }
    private let entries = Mutex<[String: Stored]>([:])
    static let capacity = 200_000
    static let maxAge: Duration = .seconds(60)
    /// How long a session whose call needed the lock goes straight to the locked path.
    static let lockedFor: Duration = .seconds(10)

    func entry(_ id: String) -> Entry? {
        let now = ContinuousClock.now
        return entries.withLock { e in
            guard let s = e[id] else { return nil }
            let age: Duration
            if case .locked = s.entry { age = Self.lockedFor } else { age = Self.maxAge }
            guard now - s.at < age else {
                e[id] = nil
                return nil
            }
            return s.entry
        }
    }

    func store(_ id: String, _ session: CachedSession) { put(id, .row(session)) }

    func markLocked(_ id: String) { put(id, .locked) }

    /// Drops a row (a locked marker stays).
    func forget(_ id: String) {
        entries.withLock { e in
            if case .row = e[id]?.entry { e[id] = nil }
        }
    }

    private func put(_ id: String, _ entry: Entry) {
        let now = ContinuousClock.now
        entries.withLock { e in
            if e.count >= Self.capacity && e[id] == nil { e.removeAll(keepingCapacity: true) }  // rare: start over
            e[id] = Stored(entry: entry, at: now)
        }
    }
}

/// A speculative call's body handed to the pool's closure (see `speculate`; as `UncheckedLockedBody`).
struct UncheckedSpeculativeBody<R>: @unchecked Sendable {
    let run: (SessionRow) async throws -> (R, SessionWriteBack)
}
