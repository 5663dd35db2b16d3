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
/// the call runs again on it. The statement is shared: every call ready to write (or fetch) at
/// that moment joins one batch statement (``SessionBatcher``, group commit), each with its own
/// condition and outcome. Calls of one session are thus serialised as under the row lock: each
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
    /// The fetch and the write are not sent on a connection of the call's own: they join the
    /// replica's batch (``SessionBatcher``), one statement for every call ready at that moment;
    /// the call's work holds no connection. Each statement is bounded (3 s) and goes through the
    /// store's circuit breaker.
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
        var statements = 0
        let result = try await speculating(id, known, &statements, body)
        failed = false
        (result == nil ? Self.fellBack : statements == 1 ? Self.current : Self.refreshed).increment()
        return result
    }

    /// `speculate`'s attempts; `statements` counts the batches the call took part in.
    private func speculating<R>(
        _ id: String, _ cached: CachedSession?,
        _ statements: inout Int, _ body: (SessionRow) async throws -> (R, SessionWriteBack)
    ) async throws -> R? {
        var known = cached
        var required: Int64 = 0  // the knowledge-base version memory must reach first
        for _ in 0..<Self.speculativeAttempts {
            if known == nil {
                statements += 1
                let fetch = SessionBatcher.Request(kind: .fetch, id: id)
                var found = try await batched(fetch)
                if case .held = found { found = try await alone(fetch, nodeID: "") }
                guard case .stale(let fetched, let version) = found else {
                    cache.forget(id)
                    return nil
                }
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
            statements += 1
            var row = copy.row
            let request: SessionBatcher.Request
            switch writeBack.change {
            case .delete:
                cache.forget(id)
                return nil
            case .update(let state, let ttl, let sequence):
                request = .init(kind: .update, id: id, token: copy.token, state: ByteBuffer(bytes: state),
                                ttl: ttl, sequence: sequence, applied: applied)
                row.state = state
                row.ttlMilliseconds = ttl
                row.sequence = sequence
            case .touch:
                request = .init(kind: .touch, id: id, token: copy.token, applied: applied)
            }
            var outcome = try await batched(request)
            if case .held = outcome { outcome = try await alone(request, nodeID: copy.row.nodeID) }
            if case .written(let token) = outcome {
                cache.store(id, CachedSession(row: row, token: token))
                return result
            }
            guard case .stale(let current, let version) = outcome else {
                cache.forget(id)
                return nil  // gone, expired, or refused: the locked path says which
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
        /// Not answered by the batch: held by another transaction, or missing (the call tries alone).
        case held
    }

    static func outcome(_ r: SpeculativeRow, id: String) -> WriteOutcome {
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
