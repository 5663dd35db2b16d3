import KatoEngine

/// The store's reads and writes on one connection (the SQL lives here, the policy elsewhere).
struct StoreSQL {
    let db: SQLiteDatabase

    /// WAL with `synchronous=FULL`: every commit fsyncs the WAL, so a committed (acknowledged)
    /// learn survives a crash or power loss; group commit amortises the fsync over a batch.
    static func configure(_ db: SQLiteDatabase) throws(SQLiteError) {
        // First: a connection closing (its last-connection checkpoint) or `kato verify` may hold
        // a lock for a moment, and without a busy handler the pragmas below fail at once with
        // SQLITE_BUSY instead of waiting (seen: a reopen right after close() in the tests).
        db.setBusyTimeout(milliseconds: 2000)
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

    /// The node's knowledge base as stored, built straight into the engine's loader (patterns in
    /// id order; ids must be 0, 1, 2, … and names unique — anything else is a damaged file).
    func loadNode(_ key: Int64) throws -> KnowledgeBaseLoader {
        let next = try db.prepare(Self.nextIDSQL)
        try next.bind(1, key)
        let expected = try next.step() ? Int(next.int(0)) : 0
        var loader = KnowledgeBaseLoader(expectedPatterns: expected, worker: .dispatch)
        var tombstones: [Int64] = []
        let t = try db.prepare("SELECT id FROM deleted_patterns WHERE node = ? ORDER BY id")
        try t.bind(1, key)
        while try t.step() { tombstones.append(t.int(0)) }
        var nextTombstone = 0
        func appendTombstones() {
            while nextTombstone < tombstones.count && tombstones[nextTombstone] == Int64(loader.patternCount) {
                loader.appendDeleted()
                nextTombstone += 1
            }
        }
        let p = try db.prepare(
            "SELECT id, name, frequency, events, emotives, metadata FROM patterns WHERE node = ? ORDER BY id")
        try p.bind(1, key)
        while try p.step() {
            appendTombstones()
            guard p.int(0) == Int64(loader.patternCount) else {
                throw MalformedRow(description: "pattern \(p.text(1)): id \(p.int(0)), expected \(loader.patternCount) (ids must be dense)")
            }
            let frequency = Int(p.int(2))
            guard frequency >= 1 else { throw MalformedRow(description: "pattern \(p.text(1)): frequency \(frequency) < 1") }
            let emotives: [[String: Double]]?
            let metadata: [String: [String]]
            do {
                // Symbols go straight from SQLite's buffer into the loader (interned by their bytes).
                try p.withBlob(3) { b throws in
                    try RecordCodec.decodeEvents(b ?? UnsafeRawBufferPointer(start: nil, count: 0), into: &loader)
                }
                emotives = try p.withBlob(4) { b throws in try RecordCodec.decodeEmotives(b) }
                metadata = try p.withBlob(5) { b throws in try RecordCodec.decodeMetadata(b) }
            } catch {
                throw MalformedRow(description: "pattern \(p.text(1)): \(error)")
            }
            p.withTextBytes(1) { name in
                loader.appendPattern(name: name, frequency: frequency, emotives: emotives, metadata: metadata)
            }
        }
        appendTombstones()
        guard nextTombstone == tombstones.count else {
            throw MalformedRow(description: "deleted pattern id \(tombstones[nextTombstone]) is also a pattern's id")
        }
        if let name = loader.duplicateName() { throw MalformedRow(description: "pattern \(name) is stored twice") }
        let s = try db.prepare("SELECT name, emotives FROM symbol_emotives WHERE node = ? ORDER BY name")
        try s.bind(1, key)
        while try s.step() {
            let name = s.text(0)
            do {
                loader.setSymbolEmotives(name, try s.withBlob(1) { b throws in try RecordCodec.decodeDict(b) })
            } catch {
                throw MalformedRow(description: "symbol \(name): \(error)")
            }
        }
        return loader
    }

    /// The node's knowledge base as a snapshot (symbol statistics and totals derived from the
    /// patterns, emotive sums as stored) — for the offline tools.
    func loadSnapshot(_ key: Int64) throws -> KnowledgeBaseSnapshot {
        KnowledgeBase(loaded: try loadNode(key)).snapshot()
    }

    /// Prepared statements of the write path (kept for the connection's life).
    final class Writes {
        let db: SQLiteDatabase
        let insertNode: SQLiteStatement
        let selectNode: SQLiteStatement
        let patternCount: SQLiteStatement
        let insertPattern: SQLiteStatement
        let updatePattern: SQLiteStatement
        let upsertSymbolEmotives: SQLiteStatement
        let deletePatterns: SQLiteStatement
        let deleteSymbolEmotives: SQLiteStatement
        let deleteTombstones: SQLiteStatement
        let deletePattern: SQLiteStatement
        let insertTombstone: SQLiteStatement
        let deleteSymbolEmotive: SQLiteStatement

        init(_ db: SQLiteDatabase) throws(SQLiteError) {
            self.db = db
            insertNode = try db.prepare("INSERT OR IGNORE INTO nodes (node_id) VALUES (?)")
            selectNode = try db.prepare("SELECT id FROM nodes WHERE node_id = ?")
            patternCount = try db.prepare(StoreSQL.nextIDSQL)
            insertPattern = try db.prepare("""
                INSERT INTO patterns (node, id, name, frequency, length, events, emotives, metadata)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            updatePattern = try db.prepare("""
                UPDATE patterns SET frequency = ?4, emotives = ?5, metadata = ?6
                WHERE node = ?1 AND id = ?2 AND name = ?3
                """)
            upsertSymbolEmotives = try db.prepare("""
                INSERT INTO symbol_emotives (node, name, emotives) VALUES (?1, ?2, ?3)
                ON CONFLICT (node, name) DO UPDATE SET emotives = excluded.emotives
                """)
            deletePatterns = try db.prepare("DELETE FROM patterns WHERE node = ?")
            deleteSymbolEmotives = try db.prepare("DELETE FROM symbol_emotives WHERE node = ?")
            deleteTombstones = try db.prepare("DELETE FROM deleted_patterns WHERE node = ?")
            deletePattern = try db.prepare("DELETE FROM patterns WHERE node = ?1 AND id = ?2")
            insertTombstone = try db.prepare("INSERT INTO deleted_patterns (node, id) VALUES (?1, ?2)")
            deleteSymbolEmotive = try db.prepare("DELETE FROM symbol_emotives WHERE node = ?1 AND name = ?2")
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

    /// The id the node's next new pattern gets: one past its highest pattern or tombstone id.
    static let nextIDSQL = """
        SELECT max(coalesce((SELECT max(id) + 1 FROM patterns WHERE node = ?1), 0),
                   coalesce((SELECT max(id) + 1 FROM deleted_patterns WHERE node = ?1), 0))
        """

    /// Number of pattern rows and tombstones of the node (= the id the next new pattern gets).
    static func patternCount(_ w: Writes, _ key: Int64) throws(SQLiteError) -> Int {
        try w.patternCount.bind(1, key)
        defer { w.patternCount.reset() }
        _ = try w.patternCount.step()
        return Int(w.patternCount.int(0))
    }

    static func clear(_ w: Writes, _ key: Int64) throws(SQLiteError) {
        for stmt in [w.deletePatterns, w.deleteSymbolEmotives, w.deleteTombstones] {
            try stmt.bind(1, key)
            try stmt.run()
        }
    }

    /// Writes a durable image and the batch's deletions. `stored` is the number of the node's
    /// pattern rows and tombstones on disk: patterns with a smaller id are updated in place (their
    /// name must match) or, if `deleted`, replaced by a tombstone; the others are inserted (patterns
    /// and tombstones alike) and must continue the ids exactly (`stored`, `stored + 1`, …).
    /// `symbolEmotives` are the deleted patterns' symbols' sums now (nil: the row goes); the image's
    /// sums are written after them. Returns the new number of rows.
    static func write(_ w: Writes, _ key: Int64, _ image: DurableImage, stored: Int,
                      deleted: [Int] = [], symbolEmotives: [String: [String: Double]?] = [:]) throws(SQLiteError) -> Int {
        var count = stored
        var tombstones = deleted[...]  // ascending
        func insertTombstone(_ id: Int) throws(SQLiteError) {
            guard id == count else {
                throw SQLiteError(extendedCode: 1, message: "deleted pattern id \(id), the next stored id is \(count)")
            }
            try w.insertTombstone.bind(1, key)
            try w.insertTombstone.bind(2, id)
            try w.insertTombstone.run()
            count += 1
        }
        while let id = tombstones.first, id < stored {
            tombstones.removeFirst()
            try w.deletePattern.bind(1, key)
            try w.deletePattern.bind(2, id)
            try w.deletePattern.run()
            guard w.db.changes == 1 else {
                throw SQLiteError(extendedCode: 1, message: "deleted pattern id \(id) is not on disk where memory had it")
            }
            try w.insertTombstone.bind(1, key)
            try w.insertTombstone.bind(2, id)
            try w.insertTombstone.run()
        }
        for row in image.patterns {
            let p = row.pattern
            if row.id < stored {
                let s = w.updatePattern
                try s.bind(1, key)
                try s.bind(2, row.id)
                try s.bind(3, p.name)
                try s.bind(4, p.frequency)
                try s.bind(5, RecordCodec.encode(emotives: p.emotives))
                try s.bind(6, RecordCodec.encode(metadata: p.metadata))
                try s.run()
                guard w.db.changes == 1 else {
                    throw SQLiteError(extendedCode: 1, message: "pattern \(p.name) (id \(row.id)) is not on disk where memory has it")
                }
            } else {
                while let id = tombstones.first, id < row.id {
                    tombstones.removeFirst()
                    try insertTombstone(id)
                }
                guard row.id == count else {
                    throw SQLiteError(extendedCode: 1, message: "pattern \(p.name) has id \(row.id), the next stored id is \(count)")
                }
                let s = w.insertPattern
                try s.bind(1, key)
                try s.bind(2, row.id)
                try s.bind(3, p.name)
                try s.bind(4, p.frequency)
                try s.bind(5, p.length)
                try s.bind(6, RecordCodec.encode(events: p.events))
                try s.bind(7, RecordCodec.encode(emotives: p.emotives))
                try s.bind(8, RecordCodec.encode(metadata: p.metadata))
                try s.run()
                count += 1
            }
        }
        for id in tombstones { try insertTombstone(id) }
        guard count == image.patternCount else {
            throw SQLiteError(extendedCode: 1, message: "\(count) patterns stored, memory holds \(image.patternCount)")
        }
        for (name, sums) in symbolEmotives where image.symbolEmotives[name] == nil {
            if let sums {
                try upsertSymbolEmotives(w, key, name, sums)
            } else {
                try w.deleteSymbolEmotive.bind(1, key)
                try w.deleteSymbolEmotive.bind(2, name)
                try w.deleteSymbolEmotive.run()
            }
        }
        for (name, sums) in image.symbolEmotives { try upsertSymbolEmotives(w, key, name, sums) }
        return count
    }

    private static func upsertSymbolEmotives(_ w: Writes, _ key: Int64, _ name: String, _ sums: [String: Double]) throws(SQLiteError) {
        let s = w.upsertSymbolEmotives
        try s.bind(1, key)
        try s.bind(2, name)
        try s.bind(3, RecordCodec.encode(dict: sums))
        try s.run()
    }
}
