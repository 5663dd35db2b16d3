import NIOCore
import PostgresNIO

/// A speculative call's request on its own, for a row its batch did not answer — held by
/// another transaction, or missing (`SessionBatch.swift`: the batch skips held rows rather than
/// wait for them). A write waits for the row's lock, then writes on the same condition as the
/// batch — the row version the call ran on, alive, the knowledge base not past what the
/// prediction reflected — or, when the condition fails, returns the current row; a fetch reads
/// the committed row. One statement, its own implicit transaction; no row: missing.
extension PostgresSessionStore {
    func alone(_ request: SessionBatcher.Request, nodeID: String) async throws -> WriteOutcome {
        let logger = self.logger
        let row: SpeculativeRow? = try await guarded("session '\(request.id)'", bound: Self.bound) { conn in
            switch request.kind {
            case .update:
                let rows = try await conn.checkedExecute(Update(
                    id: request.id, token: request.token, state: request.state, ttl: request.ttl,
                    sequence: request.sequence, nodeID: nodeID, applied: request.applied), logger: logger)
                return rows.first
            case .touch:
                let rows = try await conn.checkedExecute(Touch(
                    id: request.id, token: request.token, nodeID: nodeID, applied: request.applied), logger: logger)
                return rows.first
            case .fetch:
                let rows = try await conn.checkedExecute(Fetch(id: request.id), logger: logger)
                return rows.first
            }
        }
        guard let row else { return .gone }
        return Self.outcome(row, id: request.id)
    }
}

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
