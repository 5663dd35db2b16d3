import Logging
import PostgresNIO

/// kato's tables in PostgreSQL, versioned like the embedded store's (`kato_schema_migrations`
/// lists every migration applied). ``migrate(_:logger:)`` runs in one transaction under a
/// transaction-scoped advisory lock, so N replicas starting at once create the schema once and
/// the others wait, then find it done. A database migrated by a newer kato is refused.
///
/// Version 1, the shared knowledge base (docs/SCALING.md):
/// - `kb_nodes(node_id, version)`: `version` counts the node's committed changes, gap-free and in
///   commit order — a change's transaction locks this row (`SELECT … FOR UPDATE`) and bumps it,
///   so it is not a sequence (sequences have gaps and are not in commit order).
/// - `kb_patterns(node_id, id, name, frequency, length, events, emotives, metadata)`: the node's
///   patterns as of `kb_nodes.version`, `id` the engine's learn order; what a starting replica loads.
/// - `kb_symbol_emotives(node_id, name, emotives)`: per-symbol emotive sums (not derivable).
/// - `kb_changes(node_id, version, change)`: every change in version order — the change feed
///   replicas apply in that order, so their floating-point sums agree bit for bit.
///
/// Version 2, sessions shared by replicas: `kato_sessions` (UNLOGGED; one row per session, loaded
/// and written back under its row lock by every call) and `kato_sessions_expired`.
///
/// Version 3, deleting patterns (`KnowledgeBaseService.DeletePattern`), as the embedded store's
/// schema v3: `kb_deleted_patterns(node_id, id)` keeps a deleted pattern's id as a tombstone (its
/// `kb_patterns` row is gone), so ids stay positions in learn order; pattern ids and tombstone ids
/// together are 0, 1, 2, … per node.
///
/// Version 4, an O(1) session count for `--max-sessions`: `kato_session_count(id = 1, live)`
/// (UNLOGGED, as `kato_sessions`) holds the number of non-default rows in `kato_sessions`, kept by
/// statement-level triggers on its inserts and deletes (every path, the cleanup's batch delete
/// included, counts each row exactly once because a row is inserted and deleted once). A creation
/// locks the row (`FOR UPDATE`) in its INSERT statement and inserts only while `live < limit`:
/// creations serialise on one row for one statement, not on a `count(*)` under a global lock.
public enum PostgresSchema {
    struct Migration {
        var version: Int
        var statements: [PostgresQuery]
    }

    /// The advisory lock key of schema changes ("kato" in ASCII).
    static let migrationLock: Int64 = 0x6B61_746F

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE kb_nodes (
                node_id text PRIMARY KEY,
                version bigint NOT NULL DEFAULT 0 CHECK (version >= 0)
            )
            """,
            """
            CREATE TABLE kb_patterns (
                node_id text NOT NULL REFERENCES kb_nodes ON DELETE CASCADE,
                id bigint NOT NULL,
                name text NOT NULL,
                frequency bigint NOT NULL CHECK (frequency >= 1),
                length integer NOT NULL,
                events bytea NOT NULL,
                emotives bytea,
                metadata bytea NOT NULL,
                PRIMARY KEY (node_id, id),
                UNIQUE (node_id, name)
            )
            """,
            """
            CREATE TABLE kb_symbol_emotives (
                node_id text NOT NULL REFERENCES kb_nodes ON DELETE CASCADE,
                name text NOT NULL,
                emotives bytea NOT NULL,
                PRIMARY KEY (node_id, name)
            )
            """,
            """
            CREATE TABLE kb_changes (
                node_id text NOT NULL REFERENCES kb_nodes ON DELETE CASCADE,
                version bigint NOT NULL,
                change bytea NOT NULL,
                committed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (node_id, version)
            )
            """,
        ]),
        // Sessions shared by replicas. UNLOGGED (no WAL): a session survives a replica's death,
        // not PostgreSQL's crash (as KATO's Redis sessions). `state` is the engine's SessionState
        // (binary property list: doubles round-trip bit for bit), `expires_at` NULL for a node's
        // default session (never expires). `kato_sessions_expired` remembers recently expired ids
        // for a day, so a late caller hears SESSION_EXPIRED rather than NOT_FOUND.
        // `kato_session_updates` is each session's bounded log of PredictionUpdates (protobuf),
        // written while `log_until` is in the future (a subscriber somewhere refreshes it):
        // subscribers on every replica read it, and a resumed subscription starts from it.
        Migration(version: 2, statements: [
            """
            CREATE UNLOGGED TABLE kato_sessions (
                id text PRIMARY KEY,
                node_id text NOT NULL,
                is_default boolean NOT NULL DEFAULT false,
                owner text,
                created_at timestamptz NOT NULL DEFAULT now(),
                metadata bytea NOT NULL,
                state bytea NOT NULL,
                ttl_ms bigint NOT NULL CHECK (ttl_ms >= 0),
                expires_at timestamptz,
                sequence bigint NOT NULL DEFAULT 0,
                log_until timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX kato_sessions_expiry ON kato_sessions (expires_at) WHERE expires_at IS NOT NULL",
            "CREATE INDEX kato_sessions_node ON kato_sessions (node_id)",
            """
            CREATE UNLOGGED TABLE kato_sessions_expired (
                id text PRIMARY KEY,
                expired_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE UNLOGGED TABLE kato_session_updates (
                session_id text NOT NULL,
                sequence bigint NOT NULL,
                update bytea NOT NULL,
                PRIMARY KEY (session_id, sequence)
            )
            """,
        ]),
        Migration(version: 3, statements: [
            """
            CREATE TABLE kb_deleted_patterns (
                node_id text NOT NULL REFERENCES kb_nodes ON DELETE CASCADE,
                id bigint NOT NULL,
                PRIMARY KEY (node_id, id)
            )
            """,
        ]),
        Migration(version: 4, statements: [
            "CREATE UNLOGGED TABLE kato_session_count (id smallint PRIMARY KEY CHECK (id = 1), live bigint NOT NULL)",
            // No session is created or removed while the count is taken.
            "LOCK TABLE kato_sessions IN SHARE ROW EXCLUSIVE MODE",
            "INSERT INTO kato_session_count (id, live) SELECT 1, count(*) FROM kato_sessions WHERE NOT is_default",
            """
            CREATE FUNCTION kato_sessions_added() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE n bigint;
            BEGIN
                SELECT count(*) INTO n FROM added WHERE NOT is_default;
                IF n > 0 THEN UPDATE kato_session_count SET live = live + n WHERE id = 1; END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE FUNCTION kato_sessions_removed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE n bigint;
            BEGIN
                SELECT count(*) INTO n FROM gone WHERE NOT is_default;
                IF n > 0 THEN UPDATE kato_session_count SET live = live - n WHERE id = 1; END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER kato_sessions_added AFTER INSERT ON kato_sessions
            REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION kato_sessions_added()
            """,
            """
            CREATE TRIGGER kato_sessions_removed AFTER DELETE ON kato_sessions
            REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION kato_sessions_removed()
            """,
        ]),
    ]

    /// Recreates the session count when it is missing: a PostgreSQL crash empties UNLOGGED tables
    /// (`kato_sessions` and `kato_session_count` alike). Counted under a lock that holds off
    /// creations and removals, so the count is exact.
    static let sessionCountRepair: [PostgresQuery] = [
        "LOCK TABLE kato_sessions IN SHARE ROW EXCLUSIVE MODE",
        """
        INSERT INTO kato_session_count (id, live) SELECT 1, count(*) FROM kato_sessions WHERE NOT is_default
        ON CONFLICT (id) DO NOTHING
        """,
    ]

    /// The newest schema this kato understands.
    public static var latestVersion: Int { migrations.last!.version }

    /// Creates or migrates the schema; returns the versions applied (empty: it was current).
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS kato_schema_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var current = 0
            for try await version in try await connection.query(
                "SELECT coalesce(max(version), 0) FROM kato_schema_migrations", logger: logger
            ).decode(Int.self) {
                current = version
            }
            if current > latestVersion {
                throw PostgresSetupError(.incompatibleSchema,
                    "the PostgreSQL schema is at version \(current), newer than this kato understands (\(latestVersion)); upgrade kato-server")
            }
            var applied: [Int] = []
            for m in migrations where m.version > current {
                for statement in m.statements { try await connection.query(statement, logger: logger) }
                try await connection.query("INSERT INTO kato_schema_migrations (version) VALUES (\(m.version))", logger: logger)
                applied.append(m.version)
            }
            var counted = false
            for try await _ in try await connection.query("SELECT 1 FROM kato_session_count", logger: logger).decode(Int32.self) {
                counted = true
            }
            if !counted {
                for statement in sessionCountRepair { try await connection.query(statement, logger: logger) }
            }
            try await connection.query("COMMIT", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
