import Foundation
import KatoEngine
import Logging

/// The durable knowledge base of every node, in one SQLite database under the data directory
/// (`<data-dir>/kato.sqlite`, WAL mode, `synchronous=FULL`), locked against other processes by
/// `<data-dir>/LOCK`.
///
/// ```swift
/// let store = try KnowledgeStore.open(directory: "./data", logger: logger)   // loads every node
/// let node = store.node("robot-1")
/// let (result, ticket) = try node.recordLearn { engine.learn(in: &session) }
/// try await ticket?.wait()   // on disk now: acknowledge
/// ```
public final class KnowledgeStore: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var breaker: CircuitBreaker.Configuration = .defaults
        public var retry: RetryPolicy = .defaults
        /// Largest database in pages of 4 KiB (0: unlimited). Test hook for a "full disk".
        public var maxPageCount: Int = 0
        /// KATO's plan: 5 failures, 30 s; 3 attempts with backoff for busy/locked errors.
        public static let defaults = Configuration()
        public init() {}
    }

    /// The file inside the data directory.
    public static let fileName = "kato.sqlite"

    public let directory: String
    public let status: StoreStatus
    private let lock: DataDirectoryLock
    private let writer: GroupCommitWriter
    private let nodes: Locked<[String: DurableNode]>
    /// How long opening took, and how many patterns it loaded.
    public let loadStatistics: (duration: Duration, patterns: Int)

    private init(directory: String, lock: DataDirectoryLock, writer: GroupCommitWriter, status: StoreStatus,
                 nodes: [String: DurableNode], loadStatistics: (Duration, Int)) {
        self.directory = directory
        self.lock = lock
        self.writer = writer
        self.status = status
        self.nodes = Locked(nodes)
        self.loadStatistics = loadStatistics
    }

    /// Locks `directory` (creating it), opens or creates the database, applies migrations and loads
    /// every node's knowledge base into memory. Errors are meant for operators: a locked, read-only,
    /// full or corrupt data directory each says so.
    /// `preloaded`: knowledge bases read before the lock could be taken (a successor preloading
    /// while its predecessor still serves); a node in it and not in `changed` (the nodes the
    /// predecessor committed since the preload began) is taken as it is instead of being read again.
    public static func open(
        directory: String, configuration: Configuration = .defaults, faults: FaultInjector? = nil, logger: Logger,
        preloaded: PreloadedKnowledgeBase? = nil, changed: Set<String> = []
    ) throws(StoreError) -> KnowledgeStore {
        let start = ContinuousClock.now
        let lock = try DataDirectoryLock(directory: directory)
        let path = (directory as NSString).appendingPathComponent(fileName)
        let db: SQLiteDatabase
        var loaded: [String: DurableNode] = [:]
        var patterns = 0
        let status = StoreStatus(breaker: configuration.breaker)
        let writer: GroupCommitWriter
        do {
            db = try SQLiteDatabase(path: path)
            try StoreSQL.configure(db)
            if configuration.maxPageCount > 0 { try db.execute("PRAGMA max_page_count=\(configuration.maxPageCount)") }
            try Schema.migrate(db)
            writer = GroupCommitWriter(db: db, status: status, retry: configuration.retry, faults: faults, logger: logger)
            let sql = StoreSQL(db: db)
            for (key, nodeID) in try sql.nodes() {
                if let kept = preloaded?.nodes[nodeID], !changed.contains(nodeID) {
                    patterns += kept.patterns
                    loaded[nodeID] = DurableNode(nodeID: nodeID, knowledgeBase: kept.knowledgeBase, writer: writer)
                    continue
                }
                let loader = try sql.loadNode(key)
                patterns += loader.patternCount
                loaded[nodeID] = DurableNode(nodeID: nodeID, knowledgeBase: KnowledgeBase(loaded: loader), writer: writer)
            }
        } catch let e as StoreError {
            throw Self.explain(e, path: path)
        } catch let e as SQLiteError {
            throw Self.explain(StoreError(sqlite: e, path: path), path: path)
        } catch {
            throw StoreError(.corrupt, "cannot load \(path): \(error); run `kato-server verify --data-dir \(directory)`")
        }
        writer.start()
        let store = KnowledgeStore(
            directory: directory, lock: lock, writer: writer, status: status, nodes: loaded,
            loadStatistics: (ContinuousClock.now - start, patterns))
        return store
    }

    private static func explain(_ e: StoreError, path: String) -> StoreError {
        var e = e
        switch e.code {
        case .corrupt: e.message += "; the file may be damaged: run `kato-server verify` and restore from a backup or `kato-server import`"
        case .readOnly: e.message += "; check that the data directory and \(path) are writable"
        case .full: e.message += "; free disk space and restart"
        default: break
        }
        return e
    }

    /// The node `nodeID`, created empty on first use (its first learn creates its rows).
    public func node(_ nodeID: String) -> DurableNode {
        nodes.withLock { n in
            if let node = n[nodeID] { return node }
            let node = DurableNode(nodeID: nodeID, knowledgeBase: KnowledgeBase(), writer: writer)
            n[nodeID] = node
            return node
        }
    }

    /// Ids of the nodes in memory (every stored node is loaded at open).
    public var nodeIDs: [String] { nodes.withLock { Array($0.keys) } }

    /// Starts noting which nodes each commit changes (`changedNodes`), for a successor whose
    /// preload starts now (hand-over).
    public func trackChanges() {
        writer.changedNodes.withLock { if $0 == nil { $0 = [] } }
    }

    /// The nodes committed since `trackChanges()` (complete once `close()` has returned).
    public var changedNodes: Set<String> { writer.changedNodes.withLock { $0 ?? [] } }

    /// Commits what is pending, stops the writer, checkpoints the WAL, closes the connection and
    /// then releases the directory.
    public func close() {
        writer.stop()
        lock.release()
    }
}
