import Foundation
import KatoEngine

/// Every node's knowledge base read from a data directory another process owns, without its
/// lock: a successor's preload while its predecessor still serves (SQLite's WAL lets a reader see
/// one consistent snapshot beside the writer). `KnowledgeStore.open(…, preloaded:, changed:)`
/// then re-reads only the nodes committed after the preload began.
public struct PreloadedKnowledgeBase: Sendable {
    let nodes: [String: (knowledgeBase: KnowledgeBase, patterns: Int)]
    /// How long the preload took, and how many patterns it read.
    public let statistics: (duration: Duration, patterns: Int)

    var knowledgeBases: [String: KnowledgeBase] { nodes.mapValues(\.knowledgeBase) }
}

extension KnowledgeStore {
    /// Reads every node of `directory`'s database in one read transaction, read-only. Fails when
    /// the file does not exist or its schema is not this kato's latest (a migration needs the
    /// writer: the caller then loads at `open`).
    public static func preload(directory: String) throws(StoreError) -> PreloadedKnowledgeBase {
        let start = ContinuousClock.now
        let path = (directory as NSString).appendingPathComponent(fileName)
        do {
            let db = try SQLiteDatabase(path: path, readOnly: true, create: false)
            defer { db.close() }
            db.setBusyTimeout(milliseconds: 2000)
            try db.execute("BEGIN")  // one snapshot for every node
            defer { try? db.execute("COMMIT") }
            let version = try Schema.version(db)
            guard version == Schema.latestVersion else {
                throw StoreError(.incompatibleSchema, "schema version \(version) is not \(Schema.latestVersion); not preloaded")
            }
            let sql = StoreSQL(db: db)
            var nodes: [String: (KnowledgeBase, Int)] = [:]
            var patterns = 0
            for (key, nodeID) in try sql.nodes() {
                let loader = try sql.loadNode(key)
                patterns += loader.patternCount
                nodes[nodeID] = (KnowledgeBase(loaded: loader), loader.patternCount)
            }
            return PreloadedKnowledgeBase(nodes: nodes, statistics: (ContinuousClock.now - start, patterns))
        } catch let e as StoreError {
            throw e
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: path)
        } catch {
            throw StoreError(.corrupt, "cannot preload \(path): \(error)")
        }
    }
}
