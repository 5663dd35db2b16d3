import Foundation
import KatoEngine

/// Offline tools on a data directory the server does not hold (each takes the directory's lock,
/// so they refuse with a clear message while a server runs): integrity check, export and import
/// of the knowledge base as JSON Lines.
public enum KnowledgeBaseMaintenance {
    /// The result of ``verify(directory:)``: empty `problems` means the check passed.
    public struct Report: Sendable {
        public var nodes = 0
        public var patterns = 0
        public var symbols = 0
        public var problems: [String] = []
        public var ok: Bool { problems.isEmpty }

        public init() {}

        public var summary: String {
            let head = "\(nodes) nodes, \(patterns) patterns, \(symbols) symbols"
            if ok { return "OK: " + head }
            return "FAILED: \(problems.count) problem(s) in \(head)\n" + problems.prefix(100).map { "  - " + $0 }.joined(separator: "\n")
                + (problems.count > 100 ? "\n  … \(problems.count - 100) more" : "")
        }
    }

    static func openLocked(_ directory: String, create: Bool = false) throws(StoreError) -> (DataDirectoryLock, SQLiteDatabase) {
        let path = (directory as NSString).appendingPathComponent(KnowledgeStore.fileName)
        guard create || FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.database, "no knowledge base at \(path)")
        }
        let lock = try DataDirectoryLock(directory: directory)
        do {
            let db = try SQLiteDatabase(path: path, create: create)
            try StoreSQL.configure(db)
            return (lock, db)
        } catch {
            throw StoreError(sqlite: error, path: path)
        }
    }

    /// Checks the store: SQLite's `integrity_check`, the schema version and indexes, every pattern's
    /// frequency ≥ 1, name = hash of its events, length = number of symbols, no orphan rows, every
    /// pattern symbol has statistics, and the totals equal the sums over the patterns.
    public static func verify(directory: String) throws(StoreError) -> Report {
        let (lock, db) = try openLocked(directory)
        defer { withExtendedLifetime(lock) {} }
        var report = Report()
        do {
            let integrity = try db.textColumn("PRAGMA integrity_check")
            if integrity != ["ok"] { report.problems += integrity.map { "integrity_check: \($0)" } }
            let version = try Schema.version(db)
            if version != Schema.latestVersion {
                report.problems.append("schema version \(version), expected \(Schema.latestVersion)")
            }
            let indexes = Set(try db.textColumn("SELECT name FROM sqlite_master WHERE type = 'index'"))
            for name in Schema.requiredIndexes where !indexes.contains(name) {
                report.problems.append("index \(name) is missing")
            }
            for table in ["patterns", "symbol_emotives", "deleted_patterns"] {
                let orphans = try db.scalarInt(
                    "SELECT count(*) FROM \(table) WHERE node NOT IN (SELECT id FROM nodes)") ?? 0
                if orphans > 0 { report.problems.append("\(orphans) orphan row(s) in \(table) (no such node)") }
            }
            let sql = StoreSQL(db: db)
            for (key, nodeID) in try sql.nodes() {
                report.nodes += 1
                let snapshot: KnowledgeBaseSnapshot
                do {
                    snapshot = try sql.loadSnapshot(key)
                } catch {
                    report.problems.append("node '\(nodeID)': cannot be read: \(error)")
                    continue
                }
                report.patterns += snapshot.patterns.count
                report.symbols += snapshot.symbols.count
                check(snapshot, node: nodeID, into: &report.problems)
            }
        } catch {
            report.problems.append("cannot read the database: \(error)")
        }
        return report
    }

    package static func check(_ s: KnowledgeBaseSnapshot, node: String, into problems: inout [String]) {
        var totals = KnowledgeBaseTotals()
        var symbolFrequency: [String: Int] = [:]
        var memberFrequency: [String: Int] = [:]
        var names = Set<String>()
        for p in s.patterns {
            if !names.insert(p.name).inserted { problems.append("node '\(node)': pattern \(p.name) is stored twice") }
            if p.frequency < 1 { problems.append("node '\(node)': pattern \(p.name) has frequency \(p.frequency) < 1") }
            if Naming.patternHash(p.events) != p.name {
                problems.append("node '\(node)': pattern \(p.name) does not match the hash of its events")
            }
            let length = p.events.reduce(0) { $0 + $1.count }
            if length != p.length { problems.append("node '\(node)': pattern \(p.name) has length \(p.length), events hold \(length)") }
            if length < 2 { problems.append("node '\(node)': pattern \(p.name) holds fewer than 2 symbols") }
            var counts: [String: Int] = [:]
            for e in p.events { for sym in e { counts[sym, default: 0] += 1 } }
            for (sym, n) in counts {
                symbolFrequency[sym, default: 0] += n * p.frequency
                memberFrequency[sym, default: 0] += p.frequency
            }
            totals.totalPatternFrequencies += p.frequency
            totals.totalSymbolFrequencies += length * p.frequency
            totals.totalSymbolsInPatternsFrequencies += counts.count * p.frequency
        }
        if totals != s.totals {
            problems.append("node '\(node)': totals \(s.totals) differ from the sums over its patterns \(totals)")
        }
        for (sym, f) in symbolFrequency {
            guard let stats = s.symbols[sym] else {
                problems.append("node '\(node)': symbol '\(sym)' of a pattern has no statistics")
                continue
            }
            if stats.frequency != f || stats.patternMemberFrequency != memberFrequency[sym] {
                problems.append("node '\(node)': symbol '\(sym)' statistics (\(stats.frequency), \(stats.patternMemberFrequency)) differ from its patterns (\(f), \(memberFrequency[sym] ?? 0))")
            }
        }
    }

    /// Writes every node as JSON Lines to `output`: one `{"type":"node",…}` line per node, then one
    /// line per pattern, per symbol and the totals. Returns the number of lines.
    @discardableResult
    public static func export(directory: String, to output: FileHandle) throws(StoreError) -> Int {
        let (lock, db) = try openLocked(directory)
        defer { withExtendedLifetime(lock) {} }
        var lines = 0
        func emit(_ object: [String: Any]) throws {
            var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            data.append(0x0a)
            output.write(data)
            lines += 1
        }
        do {
            let sql = StoreSQL(db: db)
            for (key, nodeID) in try sql.nodes() {
                let s = try sql.loadSnapshot(key)
                try emit(["type": "node", "node_id": nodeID])
                for p in s.patterns {
                    var o: [String: Any] = [
                        "type": "pattern", "node_id": nodeID, "name": p.name, "frequency": p.frequency,
                        "events": p.events, "metadata": p.metadata,
                    ]
                    o["emotives"] = p.emotives.map { $0 as Any } ?? NSNull()
                    try emit(o)
                }
                for (name, stats) in s.symbols.sorted(by: { $0.key < $1.key }) {
                    try emit([
                        "type": "symbol", "node_id": nodeID, "name": name, "frequency": stats.frequency,
                        "pattern_member_frequency": stats.patternMemberFrequency, "emotives": stats.emotives,
                    ])
                }
                try emit([
                    "type": "totals", "node_id": nodeID,
                    "total_pattern_frequencies": s.totals.totalPatternFrequencies,
                    "total_symbol_frequencies": s.totals.totalSymbolFrequencies,
                    "total_symbols_in_patterns_frequencies": s.totals.totalSymbolsInPatternsFrequencies,
                ])
            }
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: db.path)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.database, "export failed: \(error)")
        }
        return lines
    }

    /// Reads JSON Lines written by ``export(directory:to:)`` into `directory` (created if needed), in
    /// one transaction. Nodes present in the file must not exist in the directory yet unless
    /// `replace` is true (then they are replaced). Returns the number of patterns imported.
    @discardableResult
    public static func importLines(_ data: Data, into directory: String, replace: Bool = false) throws(StoreError) -> Int {
        let nodes = try parseExport(data)
        let (lock, db) = try openLocked(directory, create: true)
        defer { withExtendedLifetime(lock) {} }
        var imported = 0
        do {
            try Schema.migrate(db)
            let w = try StoreSQL.Writes(db)
            try db.execute("BEGIN IMMEDIATE")
            do {
                let sql = StoreSQL(db: db)
                for (node, s) in nodes {
                    if let key = try sql.nodeKey(node) {
                        guard replace else {
                            throw StoreError(.database, "node '\(node)' already exists in \(directory); pass --replace to overwrite it")
                        }
                        try StoreSQL.clear(w, key)
                    }
                    let key = try StoreSQL.ensureNode(w, node)
                    _ = try StoreSQL.write(w, key, image(of: s), stored: 0)
                    imported += s.patterns.count
                }
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        } catch let e as StoreError {
            throw e
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: db.path)
        } catch {
            throw StoreError(.database, "\(error)")
        }
        return imported
    }

    /// The rows of a whole knowledge base (ids in learn order), as a store writes them.
    package static func image(of s: KnowledgeBaseSnapshot) -> DurableImage {
        let rows = s.patterns.enumerated().map { DurableImage.Row(id: $0.offset, pattern: $0.element) }
        return DurableImage(
            patterns: rows, symbolEmotives: s.symbols.compactMapValues { $0.emotives.isEmpty ? nil : $0.emotives },
            patternCount: rows.count)
    }

    /// Parses JSON Lines written by ``export(directory:to:)`` and checks every node's consistency
    /// (nothing is written when a line or a node is wrong): the nodes in file order.
    package static func parseExport(_ data: Data) throws(StoreError) -> [(String, KnowledgeBaseSnapshot)] {
        var snapshots: [String: KnowledgeBaseSnapshot] = [:]
        var order: [String] = []
        var lineNumber = 0
        do {
            for line in data.split(separator: 0x0a) where !line.isEmpty {
                lineNumber += 1
                guard let o = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                    let type = o["type"] as? String, let node = o["node_id"] as? String
                else { throw StoreError(.database, "line \(lineNumber): not a kato export record") }
                if snapshots[node] == nil {
                    snapshots[node] = KnowledgeBaseSnapshot()
                    order.append(node)
                }
                switch type {
                case "node": break
                case "pattern":
                    guard let name = o["name"] as? String, let frequency = o["frequency"] as? Int,
                        let events = o["events"] as? [[String]]
                    else { throw StoreError(.database, "line \(lineNumber): malformed pattern") }
                    let emotives = (o["emotives"] as? [[String: Any]])?.map { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } }
                    let metadata = (o["metadata"] as? [String: [String]]) ?? [:]
                    snapshots[node]!.patterns.append(Pattern(
                        name: name, events: events, length: events.reduce(0) { $0 + $1.count }, frequency: frequency,
                        emotives: emotives, metadata: metadata))
                case "symbol":
                    guard let name = o["name"] as? String else { throw StoreError(.database, "line \(lineNumber): malformed symbol") }
                    snapshots[node]!.symbols[name] = SymbolStats(
                        frequency: o["frequency"] as? Int ?? 0, patternMemberFrequency: o["pattern_member_frequency"] as? Int ?? 0,
                        emotives: ((o["emotives"] as? [String: Any]) ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue })
                case "totals":
                    snapshots[node]!.totals = KnowledgeBaseTotals(
                        totalPatternFrequencies: o["total_pattern_frequencies"] as? Int ?? 0,
                        totalSymbolFrequencies: o["total_symbol_frequencies"] as? Int ?? 0,
                        totalSymbolsInPatternsFrequencies: o["total_symbols_in_patterns_frequencies"] as? Int ?? 0)
                default:
                    throw StoreError(.database, "line \(lineNumber): unknown record type '\(type)'")
                }
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.database, "line \(lineNumber + 1): \(error)")
        }
        var problems: [String] = []
        for node in order { check(snapshots[node]!, node: node, into: &problems) }
        if !problems.isEmpty {
            throw StoreError(.database, "the import is inconsistent; nothing was written:\n  " + problems.prefix(20).joined(separator: "\n  "))
        }
        return order.map { ($0, snapshots[$0]!) }
    }
}
