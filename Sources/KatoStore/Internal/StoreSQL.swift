import KatoEngine

/// The store's reads and writes on one connection (the SQL lives here, the policy elsewhere).
struct StoreSQL {
    let db: SQLiteDatabase

    /// WAL with `synchronous=FULL`: every commit fsyncs the WAL, so a committed (acknowledged)
    /// learn survives a crash or power loss; group commit amortises the fsync over a batch.
    static func configure(_ db: SQLiteDatabase) throws(SQLiteError) {
        let mode = try db.textColumn("PRAGMA journal_mode=WAL").first ?? ""
        guard mode.lowercased() == "wal" else {
            throw SQLiteError(extendedCode: 1, message: "cannot switch the database to WAL mode (got '\(mode)')")
        }
        try db.execute("""
            PRAGMA synchronous=FULL;
            PRAGMA cache_size=-65536;
            PRAGMA temp_store=MEMORY;
            PRAGMA mmap_size=268435456;
            PRAGMA journal_size_limit=67108864;
            """)
        db.setBusyTimeout(milliseconds: 2000)
    }

    /// (row id, node id) of every node.
    func nodes() throws(SQLiteError) -> [(key: Int64, nodeID: String)] {
        let stmt = try db.prepare("SELECT id, node_id FROM nodes ORDER BY id")
        var out: [(Int64, String)] = []
        while try stmt.step() { out.append((stmt.int(0), stmt.text(1))) }
        return out
    }

    func nodeKey(_ nodeID: String) throws(SQLiteError) -> Int64? {
        let stmt = try db.prepare("SELECT id FROM nodes WHERE node_id = ?")
        try stmt.bind(1, nodeID)
        return try stmt.step() ? stmt.int(0) : nil
    }

    struct MalformedRow: Error, CustomStringConvertible {
        var description: String
    }

    /// The node's knowledge base as stored (patterns in learn order).
    func loadNode(_ key: Int64) throws -> KnowledgeBaseSnapshot {
        var snapshot = KnowledgeBaseSnapshot()
        let p = try db.prepare(
            "SELECT name, frequency, length, events, emotives, metadata FROM patterns WHERE node = ? ORDER BY seq")
        try p.bind(1, key)
        while try p.step() {
            let name = p.text(0)
            do {
                let events = try RecordCodec.decodeEvents(p.blob(3) ?? [])
                snapshot.patterns.append(Pattern(
                    name: name, events: events, length: Int(p.int(2)), frequency: Int(p.int(1)),
                    emotives: try RecordCodec.decodeEmotives(p.blob(4)), metadata: try RecordCodec.decodeMetadata(p.blob(5))))
            } catch {
                throw MalformedRow(description: "pattern \(name): \(error)")
            }
        }
        let s = try db.prepare("SELECT name, frequency, pattern_member_frequency, emotives FROM symbols WHERE node = ?")
        try s.bind(1, key)
        while try s.step() {
            let name = s.text(0)
            do {
                snapshot.symbols[name] = SymbolStats(
                    frequency: Int(s.int(1)), patternMemberFrequency: Int(s.int(2)), emotives: try RecordCodec.decodeDict(s.blob(3)))
            } catch {
                throw MalformedRow(description: "symbol \(name): \(error)")
            }
        }
        let t = try db.prepare(
            "SELECT total_pattern_frequencies, total_symbol_frequencies, total_symbols_in_patterns_frequencies FROM totals WHERE node = ?")
        try t.bind(1, key)
        if try t.step() {
            snapshot.totals = KnowledgeBaseTotals(
                totalPatternFrequencies: Int(t.int(0)), totalSymbolFrequencies: Int(t.int(1)),
                totalSymbolsInPatternsFrequencies: Int(t.int(2)))
        }
        return snapshot
    }

    /// Prepared statements of the write path (kept for the connection's life).
    final class Writes {
        let insertNode: SQLiteStatement
        let selectNode: SQLiteStatement
        let maxSeq: SQLiteStatement
        let upsertPattern: SQLiteStatement
        let upsertSymbol: SQLiteStatement
        let upsertTotals: SQLiteStatement
        let deletePatterns: SQLiteStatement
        let deleteSymbols: SQLiteStatement
        let deleteTotals: SQLiteStatement

        init(_ db: SQLiteDatabase) throws(SQLiteError) {
            insertNode = try db.prepare("INSERT OR IGNORE INTO nodes (node_id) VALUES (?)")
            selectNode = try db.prepare("SELECT id FROM nodes WHERE node_id = ?")
            maxSeq = try db.prepare("SELECT coalesce(max(seq), -1) + 1 FROM patterns WHERE node = ?")
            upsertPattern = try db.prepare("""
                INSERT INTO patterns (node, name, seq, frequency, length, events, emotives, metadata)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                ON CONFLICT (node, name) DO UPDATE SET
                    frequency = excluded.frequency, emotives = excluded.emotives, metadata = excluded.metadata
                """)
            upsertSymbol = try db.prepare("""
                INSERT INTO symbols (node, name, frequency, pattern_member_frequency, emotives) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT (node, name) DO UPDATE SET frequency = excluded.frequency,
                    pattern_member_frequency = excluded.pattern_member_frequency, emotives = excluded.emotives
                """)
            upsertTotals = try db.prepare("""
                INSERT OR REPLACE INTO totals (node, total_pattern_frequencies, total_symbol_frequencies,
                    total_symbols_in_patterns_frequencies) VALUES (?1, ?2, ?3, ?4)
                """)
            deletePatterns = try db.prepare("DELETE FROM patterns WHERE node = ?")
            deleteSymbols = try db.prepare("DELETE FROM symbols WHERE node = ?")
            deleteTotals = try db.prepare("DELETE FROM totals WHERE node = ?")
        }
    }

    /// The row id of `nodeID`, inserting the node if new.
    static func ensureNode(_ w: Writes, _ nodeID: String) throws(SQLiteError) -> Int64 {
        try w.insertNode.bind(1, nodeID)
        try w.insertNode.run()
        try w.selectNode.bind(1, nodeID)
        defer { w.selectNode.reset() }
        guard try w.selectNode.step() else { throw SQLiteError(extendedCode: 1, message: "node row vanished") }
        return w.selectNode.int(0)
    }

    static func nextSeq(_ w: Writes, _ key: Int64) throws(SQLiteError) -> Int64 {
        try w.maxSeq.bind(1, key)
        defer { w.maxSeq.reset() }
        _ = try w.maxSeq.step()
        return w.maxSeq.int(0)
    }

    static func clear(_ w: Writes, _ key: Int64) throws(SQLiteError) {
        for stmt in [w.deletePatterns, w.deleteSymbols, w.deleteTotals] {
            try stmt.bind(1, key)
            try stmt.run()
        }
    }

    /// Writes a persistence image; `seq` is the next learn-order number (advanced per row).
    static func write(_ w: Writes, _ key: Int64, _ image: PersistenceImage, seq: inout Int64) throws(SQLiteError) {
        for p in image.patterns {
            let s = w.upsertPattern
            try s.bind(1, key)
            try s.bind(2, p.name)
            try s.bind(3, seq)
            try s.bind(4, p.frequency)
            try s.bind(5, p.length)
            try s.bind(6, RecordCodec.encode(events: p.events))
            try s.bind(7, RecordCodec.encode(emotives: p.emotives))
            try s.bind(8, RecordCodec.encode(metadata: p.metadata))
            try s.run()
            seq += 1
        }
        for (name, stats) in image.symbols {
            let s = w.upsertSymbol
            try s.bind(1, key)
            try s.bind(2, name)
            try s.bind(3, stats.frequency)
            try s.bind(4, stats.patternMemberFrequency)
            try s.bind(5, RecordCodec.encode(dict: stats.emotives))
            try s.run()
        }
        let t = w.upsertTotals
        try t.bind(1, key)
        try t.bind(2, image.totals.totalPatternFrequencies)
        try t.bind(3, image.totals.totalSymbolFrequencies)
        try t.bind(4, image.totals.totalSymbolsInPatternsFrequencies)
        try t.run()
    }
}
