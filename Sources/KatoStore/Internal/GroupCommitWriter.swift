import Dispatch
import Foundation
import KatoEngine
import Logging

/// The store's single writer: a dedicated thread that owns the write connection and commits the
/// writes of every node recorded since its last batch in one transaction with one fsync (group
/// commit). Concurrent learns therefore share fsyncs: while one batch is being synced, the next
/// one accumulates.
///
/// Each batch goes through the circuit breaker and the retry policy. A failed batch rolls the
/// memory of its nodes back to the disk's state (see ``DurableNode``).
final class GroupCommitWriter: Sendable {
    /// The connection and its caches: touched by the writer thread only (after `start`).
    private final class Confined: @unchecked Sendable {
        let db: SQLiteDatabase
        var writes: StoreSQL.Writes?
        var nodeKeys: [String: Int64] = [:]
        /// Pattern rows on disk per node (the next new pattern's id), as of the last commit.
        var storedPatterns: [Int64: Int] = [:]
        var unreconciled: [DurableNode] = []

        init(db: SQLiteDatabase) {
            self.db = db
        }
    }

    private struct Queue {
        var nodes: [ObjectIdentifier: DurableNode] = [:]
        var stopping = false
    }

    private let confined: Confined
    private let queue = Locked(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let status: StoreStatus
    /// Nodes whose batches reached the database since `KnowledgeStore.trackChanges()` (nil: not
    /// tracking): what a successor preloaded before then must be read again (hand-over).
    let changedNodes = Locked<Set<String>?>(nil)
    let retry: RetryPolicy
    let faults: FaultInjector?
    let logger: Logger

    init(db: SQLiteDatabase, status: StoreStatus, retry: RetryPolicy, faults: FaultInjector?, logger: Logger) {
        confined = Confined(db: db)
        self.status = status
        self.retry = retry
        self.faults = faults
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "kato-store-writer"
        thread.start()
    }

    /// Commits what is pending, then stops the thread; returns once it has closed the
    /// connection, for every caller (a second, concurrent `stop()` waits too).
    func stop() {
        let first = queue.withLock { q -> Bool in
            defer { q.stopping = true }
            return !q.stopping
        }
        if first { wake.signal() }
        finished.wait()
        finished.signal()  // left signalled: every other (and later) caller returns at once
    }

    func enqueue(_ node: DurableNode) {
        let added = queue.withLock { q -> Bool in
            q.nodes.updateValue(node, forKey: ObjectIdentifier(node)) == nil
        }
        if added { wake.signal() }
    }

    private func run() {
        while true {
            let (nodes, stopping) = queue.withLock { q in
                defer { q.nodes = [:] }
                return (Array(q.nodes.values), q.stopping)
            }
            if !confined.unreconciled.isEmpty { reconcilePending() }
            if nodes.isEmpty {
                if stopping { break }
                if confined.unreconciled.isEmpty {
                    wake.wait()
                } else {
                    _ = wake.wait(timeout: .now() + .milliseconds(200))
                }
                continue
            }
            commit(nodes.compactMap { $0.takeBatch() })
        }
        try? confined.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        // Closed here, on the writer thread, before `stop()` returns: the store releases the
        // data directory's lock only after that, so the next owner never meets this connection.
        confined.writes = nil  // finalizes the prepared statements
        confined.db.close()
    }

    private func commit(_ batches: [DurableNode.Batch]) {
        guard !batches.isEmpty else { return }
        changedNodes.withLock { changed in
            if changed != nil { changed!.formUnion(batches.map(\.node.nodeID)) }
        }
        let learns = batches.reduce(0) { $0 + $1.learns }
        guard status.allowRequest() else {
            let error = StoreError(.circuitOpen, "the store's circuit breaker is open; knowledge-base writes are refused for now")
            fail(batches, error)
            return
        }
        do {
            let start = ContinuousClock.now
            try retry.run({ () throws(StoreError) in try writeTransaction(batches) }, onRetry: { error in
                status.recordRetry()
                logger.debug("retrying store batch", metadata: ["error": "\(error)"])
            })
            status.recordSuccess(learns: learns, duration: ContinuousClock.now - start)
            for b in batches { b.ticket.resolve(.success(())) }
        } catch {
            status.recordFailure(error)
            logger.error("store batch failed; rolling memory back to disk", metadata: [
                "error": "\(error)", "nodes": "\(batches.count)", "learns": "\(learns)",
            ])
            if error.code == .corrupt { status.setMaintenance("corrupt", error.message) }
            fail(batches, error)
        }
    }

    /// Fails the batches' tickets and rolls their nodes' memory back to the disk.
    private func fail(_ batches: [DurableNode.Batch], _ error: StoreError) {
        for b in batches { reconcile(b.node, error) }
        for b in batches { b.ticket.resolve(.failure(error)) }
    }

    private func reconcile(_ node: DurableNode, _ error: StoreError) {
        do {
            let snapshot = try retry.run { () throws(StoreError) in try readNode(node.nodeID) }
            node.rollBack(to: snapshot, error: error)
        } catch let readError {
            logger.critical("cannot reload a node after a failed write; refusing its writes", metadata: [
                "node": "\(node.nodeID)", "error": "\(readError)",
            ])
            node.markUnreconciled(StoreError(.database,
                "node '\(node.nodeID)' could not be reloaded from disk after a failed write (\(readError.message)); writes are refused until it is"))
            if !confined.unreconciled.contains(where: { $0 === node }) { confined.unreconciled.append(node) }
            status.setMaintenance("unreconciled:" + node.nodeID, "node '\(node.nodeID)' memory not reconciled with disk")
        }
    }

    private func reconcilePending() {
        var still: [DurableNode] = []
        for node in confined.unreconciled {
            do {
                let snapshot = try readNode(node.nodeID)
                node.rollBack(to: snapshot, error: StoreError(.database, "rolled back"))
                status.setMaintenance("unreconciled:" + node.nodeID, nil)
                logger.notice("node reconciled with disk", metadata: ["node": "\(node.nodeID)"])
            } catch {
                still.append(node)
            }
        }
        confined.unreconciled = still
    }

    private func readNode(_ nodeID: String) throws(StoreError) -> KnowledgeBaseLoader {
        let sql = StoreSQL(db: confined.db)
        do {
            guard let key = try sql.nodeKey(nodeID) else { return KnowledgeBaseLoader() }
            return try sql.loadNode(key)
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: confined.db.path)
        } catch {
            throw StoreError(.corrupt, "\(error) [\(confined.db.path)]")
        }
    }

    private func writeTransaction(_ batches: [DurableNode.Batch]) throws(StoreError) {
        let c = confined
        do {
            if c.writes == nil { c.writes = try StoreSQL.Writes(c.db) }
            let w = c.writes!
            try c.db.execute("BEGIN IMMEDIATE")
            do {
                for b in batches {
                    let key: Int64
                    if let k = c.nodeKeys[b.node.nodeID] {
                        key = k
                    } else {
                        key = try StoreSQL.ensureNode(w, b.node.nodeID)
                        c.nodeKeys[b.node.nodeID] = key
                    }
                    if b.cleared {
                        try StoreSQL.clear(w, key)
                        c.storedPatterns[key] = 0
                    }
                    let stored: Int
                    if let n = c.storedPatterns[key] { stored = n } else { stored = try StoreSQL.patternCount(w, key) }
                    c.storedPatterns[key] = try StoreSQL.write(w, key, b.image, stored: stored)
                }
                faults?.delayCommit()
                try faults?.maybeFail("commit")
                try c.db.execute("COMMIT")
            } catch {
                if !c.db.isAutocommit { try? c.db.execute("ROLLBACK") }
                // The caches may hold values of the rolled-back transaction.
                c.nodeKeys = [:]
                c.storedPatterns = [:]
                throw error
            }
        } catch let e as StoreError {
            throw e
        } catch let e as SQLiteError {
            throw StoreError(sqlite: e, path: c.db.path)
        } catch {
            throw StoreError(.database, "\(error)")
        }
    }
}
