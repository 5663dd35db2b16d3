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
/// each on a pool connection for that statement only), so under load a batch holds what arrived
/// while the previous ones ran, and with little load a request is sent at once, alone.
///
/// Each request's outcome is its own: its row was written (its condition held), or the current
/// row comes back and that call alone runs again, or the row was missing / expired and the call
/// goes to the locked path. A call is answered only after the statement that wrote its row
/// committed. The statement takes its rows' locks with `SKIP LOCKED`, so a batch never waits for
/// (or deadlocks with) another batch or a locked call: a row someone holds comes back as
/// `.held`, and that call writes alone (`SessionWriteAlone.swift`), waiting for the row.
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
    fileprivate func next() -> [Waiting] {
        queue.withLock { q in
            if q.pending.isEmpty {
                q.idleLanes += 1
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
}

extension PostgresSessionStore {
    /// Queues `request` for the next batch statement and waits for its outcome: nil when the
    /// statement was refused by PostgreSQL (nothing of it committed; the call goes to the locked
    /// path, alone); throws when PostgreSQL could not be reached or did not answer (the
    /// statement may or may not have committed: the call fails, as a single write would).
    func batched(_ request: SessionBatcher.Request) async throws -> WriteOutcome? {
        try await withCheckedThrowingContinuation { continuation in
            let start = batcher.queue.withLock { q in
                q.pending.append(.init(request: request, continuation: continuation))
                guard q.idleLanes > 0 else { return false }
                q.idleLanes -= 1
                return true
            }
            if start {
                // On an event loop of postgres-nio's group: the statement's write and its answer
                // run there, without a hop through the global executor.
                Task(executorPreference: EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.any())) {
                    await self.runLane()
                }
            }
        }
    }

    /// A lane: sends batches while requests are queued, then idles.
    private func runLane() async {
        while true {
            let batch = batcher.next()
            if batch.isEmpty { return }
            SessionBatcher.batches.increment()
            SessionBatcher.batched.increment(by: batch.count)
            do {
                let outcomes = try await send(batch.map(\.request))
                for (i, w) in batch.enumerated() { w.continuation.resume(returning: outcomes?[i]) }
            } catch {
                for w in batch { w.continuation.resume(throwing: error) }
            }
        }
    }

    /// One statement for `requests`; an outcome per request, in order, or nil when PostgreSQL
    /// refused the statement (an error it reported: the implicit transaction rolled back).
    private func send(_ requests: [SessionBatcher.Request]) async throws -> [WriteOutcome]? {
        let statement = BatchStatement(requests)
        let logger = self.logger
        let rows: [BatchRow]? = try await guarded("a batch of \(requests.count) session calls") { conn in
            do {
                return try await conn.checkedExecute(statement, logger: logger)
            } catch let error as PSQLError where error.code == .server {
                SessionBatcher.refused.increment()
                logger.warning("a batch of session calls was refused; each runs again alone", metadata: [
                    "calls": "\(requests.count)", "error": "\(error.serverInfo?[.message] ?? "")"])
                return nil
            }
        }
        guard let rows else { return nil }
        var outcomes = [WriteOutcome](repeating: .gone, count: requests.count)
        for r in rows {
            let index = Int(r.0) - 1  // WITH ORDINALITY counts from 1
            guard outcomes.indices.contains(index) else { continue }
            let (_, status, token, nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging, kbVersion) = r
            if status == 2 {
                outcomes[index] = .held
                continue
            }
            outcomes[index] = Self.outcome(
                (status == 1, token, nodeID, isDefault, owner, created, metadata, state, ttl, sequence, expired, logging, kbVersion),
                id: requests[index].id)
        }
        return outcomes
    }
}

/// A batch statement's answer: the request's position (from 1), its status (1 written, 0 the
/// current row follows, 2 held by another transaction), then ``SpeculativeRow``'s other columns.
typealias BatchRow = (Int64, Int16, Int64, String, Bool, String?, Double, ByteBuffer, ByteBuffer, Int64, Int64, Bool, Bool, Int64)

/// The batch as one statement (one implicit transaction). `b`: the requests; `held`: the rows of
/// the conditional writes, locked (`SKIP LOCKED`: a row another transaction holds is left out,
/// and its call goes to the locked path), read as their latest committed version; `written`: the
/// rows whose condition held — the row is the version the call ran on (`xmin`), alive, and no
/// knowledge-base change of its node was committed past what the call's prediction reflected.
/// Answer: per written request its new `xmin`; per other request the current row (held, or read
/// for a fetch) with its node's version; status 2 for a row held elsewhere; nothing for a row
/// missing.
private struct BatchStatement: PostgresPreparedStatement {
    static let name = "kato_session_batch"
    static let sql = """
        WITH b AS (
            SELECT * FROM unnest($1::text[], $2::int8[], $3::int2[], $4::bytea[], $5::int8[], $6::int8[], $7::int8[])
                WITH ORDINALITY AS b(id, token, kind, state, ttl, sequence, applied, ord)),
        held AS (
            SELECT s.id, s.xmin::text::int8 AS token, s.node_id, s.is_default, s.owner, s.created_at, s.metadata,
                   s.state, s.ttl_ms, s.sequence, s.expires_at, s.log_until
            FROM kato_sessions s WHERE s.id IN (SELECT id FROM b WHERE kind > 0)
            FOR NO KEY UPDATE SKIP LOCKED),
        written AS (
            UPDATE kato_sessions s SET
                state = CASE WHEN b.kind = 2 THEN b.state ELSE s.state END,
                ttl_ms = CASE WHEN b.kind = 2 THEN b.ttl ELSE s.ttl_ms END,
                sequence = CASE WHEN b.kind = 2 THEN b.sequence ELSE s.sequence END,
                updated_at = now(),
                expires_at = CASE WHEN s.is_default THEN NULL
                    ELSE now() + (CASE WHEN b.kind = 2 THEN b.ttl ELSE s.ttl_ms END) * interval '1 millisecond' END
            FROM b JOIN held h ON h.id = b.id
            WHERE s.id = b.id AND b.kind > 0 AND s.xmin = b.token::text::xid AND coalesce(s.expires_at > now(), true)
              AND coalesce((SELECT version FROM kb_nodes k WHERE k.node_id = s.node_id), 0) <= b.applied
            RETURNING b.ord, s.xmin::text::int8 AS token)
        SELECT w.ord, 1::int2, w.token, '', false, NULL::text, 0::float8, '\\x'::bytea, '\\x'::bytea, 0::int8, 0::int8, false, false, 0::int8
        FROM written w
        UNION ALL
        SELECT b.ord, 0::int2, h.token, h.node_id, h.is_default, h.owner, extract(epoch FROM h.created_at)::float8, h.metadata,
               h.state, h.ttl_ms, h.sequence, coalesce(h.expires_at <= now(), false), coalesce(h.log_until > now(), false),
               coalesce((SELECT version FROM kb_nodes k WHERE k.node_id = h.node_id), 0)
        FROM b JOIN held h ON h.id = b.id
        WHERE b.kind > 0 AND NOT EXISTS (SELECT 1 FROM written w WHERE w.ord = b.ord)
        UNION ALL
        SELECT b.ord, (CASE WHEN b.kind = 0 THEN 0 ELSE 2 END)::int2, s.xmin::text::int8, s.node_id, s.is_default, s.owner, extract(epoch FROM s.created_at)::float8,
               s.metadata, s.state, s.ttl_ms, s.sequence, coalesce(s.expires_at <= now(), false),
               coalesce(s.log_until > now(), false), coalesce((SELECT version FROM kb_nodes k WHERE k.node_id = s.node_id), 0)
        FROM b JOIN kato_sessions s ON s.id = b.id
        WHERE b.kind = 0 OR NOT EXISTS (SELECT 1 FROM held h WHERE h.id = b.id)
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
