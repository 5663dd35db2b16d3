import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO

/// Moving a knowledge base into PostgreSQL and checking it there: the same JSON Lines as the
/// embedded store's `export`, and the same consistency checks as its `verify`.
extension PostgresAdmin {
    /// Imports `nodes` (``KnowledgeBaseMaintenance/parseExport(_:)``) in one transaction. A node
    /// that exists is refused unless `replace`; a replaced node gets the next version with a
    /// "replaced" record, so running replicas reload it. Returns the number of patterns.
    public static func importNodes(
        _ nodes: [(String, KnowledgeBaseSnapshot)], into settings: PostgresSettings, replace: Bool, logger: Logger
    ) async throws(PostgresSetupError) -> Int {
        _ = try await migrate(settings, logger: logger)
        let conn = try await connect(settings, logger: logger)
        defer { Task { try? await conn.close() } }
        var imported = 0
        do {
            try await conn.query("BEGIN", logger: logger)
            do {
                for (node, snapshot) in nodes {
                    var existing: Int64?
                    for try await v in try await conn.query(
                        "SELECT version FROM kb_nodes WHERE node_id = \(node) FOR UPDATE", logger: logger
                    ).decode(Int64.self) { existing = v }
                    if existing != nil, !replace {
                        throw PostgresSetupError(.server, "node '\(node)' already exists in \(settings); pass --replace to overwrite it")
                    }
                    if existing == nil {
                        try await conn.query("INSERT INTO kb_nodes (node_id) VALUES (\(node))", logger: logger)
                    }
                    try await KnowledgeBaseRows.clear(node: node, conn, logger: logger)
                    try await KnowledgeBaseRows.write(KnowledgeBaseMaintenance.image(of: snapshot), node: node, conn, logger: logger)
                    // Running replicas reload the node when they reach this version.
                    try await KnowledgeBaseRows.commitVersions([ReplicationRecords.replaced], after: existing ?? 0, node: node, conn, logger: logger)
                    imported += snapshot.patterns.count
                }
                try await conn.query("COMMIT", logger: logger)
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            throw PostgresSetupError.explain(error, settings)
        }
        return imported
    }

    /// Checks every node in PostgreSQL as `kato-server verify` checks a data directory, plus that
    /// each node's change log is complete up to its version (gap-free, numbered 1…version).
    public static func verify(_ settings: PostgresSettings, logger: Logger) async throws(PostgresSetupError) -> KnowledgeBaseMaintenance.Report {
        let conn = try await connect(settings, logger: logger)
        defer { Task { try? await conn.close() } }
        var report = KnowledgeBaseMaintenance.Report()
        do {
            var versions: [(String, Int64)] = []
            for try await row in try await conn.query("SELECT node_id, version FROM kb_nodes ORDER BY node_id", logger: logger)
                .decode((String, Int64).self) { versions.append(row) }
            for (node, version) in versions {
                report.nodes += 1
                var (count, first, last): (Int64, Int64?, Int64?) = (0, nil, nil)
                for try await row in try await conn.query(
                    "SELECT count(*), min(version), max(version) FROM kb_changes WHERE node_id = \(node)", logger: logger
                ).decode((Int64, Int64?, Int64?).self) { (count, first, last) = row }
                if count != version || (version > 0 && (first != 1 || last != version)) {
                    report.problems.append("node '\(node)': version \(version), but its change log holds \(count) change(s) (\(first ?? 0)…\(last ?? 0))")
                }
                do {
                    let (loader, _) = try await PostgresKnowledgeStore.load(node, conn, logger: logger)
                    let snapshot = KnowledgeBase(loaded: loader).snapshot()
                    report.patterns += snapshot.patterns.count
                    report.symbols += snapshot.symbols.count
                    KnowledgeBaseMaintenance.check(snapshot, node: node, into: &report.problems)
                } catch {
                    report.problems.append("node '\(node)': cannot be read: \(error)")
                }
            }
        } catch {
            throw PostgresSetupError.explain(error, settings)
        }
        return report
    }
}
