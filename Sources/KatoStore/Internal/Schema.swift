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
    ]

    static var latestVersion: Int { migrations.last!.version }

    /// Indexes `kato verify` requires (besides the primary keys).
    static let requiredIndexes = ["patterns_frequency", "patterns_seq"]

    /// The highest applied version (0 for a new file).
    static func version(_ db: SQLiteDatabase) throws(SQLiteError) -> Int {
        let exists = try db.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") ?? 0
        guard exists > 0 else { return 0 }
        return Int(try db.scalarInt("SELECT coalesce(max(version), 0) FROM schema_migrations") ?? 0)
    }

    /// Applies every missing migration; returns the versions applied.
    @discardableResult
    static func migrate(_ db: SQLiteDatabase) throws(StoreError) -> [Int] {
        do {
            try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            let current = try version(db)
            if current > latestVersion {
                throw StoreError(.incompatibleSchema,
                    "database schema version \(current) is newer than this kato (\(latestVersion)); upgrade kato")
            }
            var applied: [Int] = []
            for m in migrations where m.version > current {
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
