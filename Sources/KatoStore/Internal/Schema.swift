/// The store's schema, versioned: `schema_migrations` lists every migration applied, and
/// ``migrate(_:)`` applies the missing ones in order, each in its own transaction.
///
/// Version 1 (one database for every node; a node is a row of `nodes`):
/// - `patterns(node, name, seq, frequency ≥ 1, length, events, emotives, metadata)`, keyed by
///   `(node, name)`; `seq` keeps learn order (the order the engine's indexes are rebuilt in);
///   index `patterns_frequency (node, frequency DESC, name)` is KATO's `frequency desc, name`.
/// - `symbols(node, name, frequency, pattern_member_frequency, emotives)` — the engine's
///   symbol statistics (their emotive sums cannot be recomputed from the patterns' rolling
///   windows, so they are stored, not derived).
/// - `totals(node, …)` — KATO's totals document.
///
/// Version 2 (write path: one appended row per new pattern, nothing per symbol unless emotives):
/// - `patterns(node, id, name, frequency ≥ 1, length, events, emotives, metadata)`, keyed by
///   `(node, id)` where `id` is the pattern's position in learn order (0, 1, 2, … per node — the
///   engine's pattern id), so a new pattern is appended at the end of its node's key range and a
///   re-learn updates one row in place. Names are unique per node (checked at load and by verify).
/// - `symbol_emotives(node, name, emotives)` — the per-symbol emotive sums (non-empty ones), the only
///   symbol statistic that cannot be derived from the patterns.
/// - symbol frequencies, pattern-member frequencies and the totals are no longer stored: they are
///   sums over the patterns (frequency × occurrences), computed at load (what v1's `verify` checked).
/// The migration renumbers v1's `seq` densely (same order) and keeps v1's non-empty emotive sums.
///
/// Version 3 (deleting patterns, `KnowledgeBaseService.DeletePattern`):
/// - `deleted_patterns(node, id)`: a deleted pattern's id, kept as a tombstone (its `patterns` row is
///   gone) so that ids stay positions in learn order; `patterns` ids and tombstone ids together are
///   0, 1, 2, … per node. The load puts an empty tombstone in the engine at each.
enum Schema {
    struct Migration {
        var version: Int
        var sql: String
    }

    static let migrations: [Migration] = [
        Migration(version: 1, sql: """
            CREATE TABLE nodes (
                id INTEGER PRIMARY KEY,
                node_id TEXT NOT NULL UNIQUE
            );
            CREATE TABLE patterns (
                node INTEGER NOT NULL REFERENCES nodes(id),
                name TEXT NOT NULL,
                seq INTEGER NOT NULL,
                frequency INTEGER NOT NULL CHECK (frequency >= 1),
                length INTEGER NOT NULL,
                events BLOB NOT NULL,
                emotives BLOB,
                metadata BLOB NOT NULL,
                PRIMARY KEY (node, name)
            ) WITHOUT ROWID;
            CREATE INDEX patterns_frequency ON patterns (node, frequency DESC, name);
            CREATE INDEX patterns_seq ON patterns (node, seq);
            CREATE TABLE symbols (
                node INTEGER NOT NULL REFERENCES nodes(id),
                name TEXT NOT NULL,
                frequency INTEGER NOT NULL,
                pattern_member_frequency INTEGER NOT NULL,
                emotives BLOB NOT NULL,
                PRIMARY KEY (node, name)
            ) WITHOUT ROWID;
            CREATE TABLE totals (
                node INTEGER PRIMARY KEY REFERENCES nodes(id),
                total_pattern_frequencies INTEGER NOT NULL,
                total_symbol_frequencies INTEGER NOT NULL,
                total_symbols_in_patterns_frequencies INTEGER NOT NULL
            );
            """),
        Migration(version: 2, sql: """
            CREATE TABLE patterns_v2 (
                node INTEGER NOT NULL REFERENCES nodes(id),
                id INTEGER NOT NULL,
                name TEXT NOT NULL,
                frequency INTEGER NOT NULL CHECK (frequency >= 1),
                length INTEGER NOT NULL,
                events BLOB NOT NULL,
                emotives BLOB,
                metadata BLOB NOT NULL,
                PRIMARY KEY (node, id)
            ) WITHOUT ROWID;
            INSERT INTO patterns_v2 (node, id, name, frequency, length, events, emotives, metadata)
                SELECT node, row_number() OVER (PARTITION BY node ORDER BY seq, name) - 1,
                       name, frequency, length, events, emotives, metadata
                FROM patterns;
            DROP TABLE patterns;
            ALTER TABLE patterns_v2 RENAME TO patterns;
            CREATE TABLE symbol_emotives (
                node INTEGER NOT NULL REFERENCES nodes(id),
                name TEXT NOT NULL,
                emotives BLOB NOT NULL,
                PRIMARY KEY (node, name)
            ) WITHOUT ROWID;
            INSERT INTO symbol_emotives (node, name, emotives)
                SELECT node, name, emotives FROM symbols WHERE length(emotives) > 1;
            DROP TABLE symbols;
            DROP TABLE totals;
            """),
        Migration(version: 3, sql: """
            CREATE TABLE deleted_patterns (
                node INTEGER NOT NULL REFERENCES nodes(id),
                id INTEGER NOT NULL,
                PRIMARY KEY (node, id)
            ) WITHOUT ROWID;
            """),
    ]

    static var latestVersion: Int { migrations.last!.version }

    /// Indexes `kato verify` requires (besides the primary keys; v2 needs none).
    static let requiredIndexes: [String] = []

    /// The v1 schema alone (tests create v1 files with it to check the migration).
    static var version1SQL: String { migrations[0].sql }

    /// The highest applied version (0 for a new file).
    static func version(_ db: SQLiteDatabase) throws(SQLiteError) -> Int {
        let exists = try db.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") ?? 0
        guard exists > 0 else { return 0 }
        return Int(try db.scalarInt("SELECT coalesce(max(version), 0) FROM schema_migrations") ?? 0)
    }

    /// Applies every missing migration; returns the versions applied.
    @discardableResult
    static func migrate(_ db: SQLiteDatabase, upTo target: Int = Schema.latestVersion) throws(StoreError) -> [Int] {
        do {
            try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            let current = try version(db)
            if current > latestVersion {
                throw StoreError(.incompatibleSchema,
                    "database schema version \(current) is newer than this kato (\(latestVersion)); upgrade kato")
            }
            var applied: [Int] = []
            for m in migrations where m.version > current && m.version <= target {
                try db.execute("BEGIN IMMEDIATE")
                do {
                    try db.execute(m.sql)
                    try db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (\(m.version), datetime('now'))")
                    try db.execute("COMMIT")
                } catch {
                    try? db.execute("ROLLBACK")
                    throw error
                }
                applied.append(m.version)
            }
            return applied
        } catch let e as StoreError {
            throw e
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: db.path)
        } catch {
            throw StoreError(.database, "\(error)")
        }
    }
}
