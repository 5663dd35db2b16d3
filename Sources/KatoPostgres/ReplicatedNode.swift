import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One node's knowledge base shared through PostgreSQL: the in-memory ``KnowledgeBase`` every
/// prediction reads, and `applied`, the node version (`kb_nodes.version`) it reflects.
///
/// Every change reaches memory in version order, on every replica (docs/SCALING.md):
/// - A write (``write(_:)``) holds the node's row lock in PostgreSQL (`SELECT … FOR UPDATE`) for
///   its transaction, so writes of one node are serialised across replicas. Under it the replica
///   first applies the changes other replicas committed since `applied`, then runs the call's
///   engine work with the knowledge base's journal on, then stores the journal as the next
///   versions (`kb_changes`), the touched patterns' rows and the new version, and commits.
/// - The change feed (``catchUp(to:)``, driven by LISTEN/NOTIFY and a poll) applies other
///   replicas' changes in version order, checking that versions are contiguous.
/// - The local ``AsyncGate`` keeps a writer and the feed from applying at the same time.
/// So replicas apply the same changes in the same order and agree bit for bit.
public final class ReplicatedNode: Sendable {
    public let nodeID: String
    public let knowledgeBase: KnowledgeBase
    private let applied: Atomic<Int64>
    /// Memory may hold changes that were not committed (a failed commit): reload before use.
    private let stale = Atomic<Bool>(false)
    let gate = AsyncGate()
    private let store: PostgresKnowledgeStore

    init(nodeID: String, knowledgeBase: KnowledgeBase, version: Int64, store: PostgresKnowledgeStore) {
        self.nodeID = nodeID
        self.knowledgeBase = knowledgeBase
        self.applied = Atomic(version)
        self.store = store
    }

    /// The node version the in-memory knowledge base reflects.
    public var appliedVersion: Int64 { applied.load(ordering: .acquiring) }

    /// Runs `body` — a call's synchronous engine work, which may learn or clear — holding the
    /// node's write lock across replicas, and commits what it changed before returning. A failed
    /// commit reloads the node from PostgreSQL (memory never keeps an uncommitted change) and
    /// throws `StoreError` (the call answers UNAVAILABLE).
    public func write<R>(_ body: () throws -> R) async throws -> R {
        if let deferred = DeferredVersionCheck.current {
            deferred.lockNeeded()  // a speculative call cannot take a commit back
            throw NeedsSessionLock()
        }
        try store.checkBreaker()
        let result: Result<R, any Error> = try await gate.withLock {
            do {
                try await reloadIfStale()
                let (result, changes) = try await withoutActuallyEscaping(body) { body in
                    // The body runs in the child task while this one waits for it, before
                    // write returns: it is never used concurrently (hence unchecked).
                    let work = UncheckedBody(run: body)
                    // 3 s to reach PostgreSQL, then the transaction may wait for the node's row
                    // lock (another replica's learn) or a loaded server, as a session call may.
                    let progress = OperationProgress()
                    return try await OperationTimeout.run("a write of node '\(nodeID)'", bound: PostgresSessionStore.bound, progress: progress) {
                        try await self.store.withConnection { conn in try await self.transaction(conn, progress, work.run) }
                    }
                }
                if changes > 0 { store.status.recordSuccess(learns: changes) } else { store.status.recordReachable() }
                return result
            } catch let error as StoreError {
                store.status.recordFailure(error)
                throw error
            } catch {
                let e = StoreError(.database, "PostgreSQL: \(PostgresSetupError.explain(error, store.settings))")
                store.status.recordFailure(e)
                throw e
            }
        }
        return try result.get()  // the body's own error, untouched
    }

    /// One write transaction: (the body's result, how many changes it committed).
    private func transaction<R>(
        _ conn: PostgresConnection, _ progress: OperationProgress, _ body: () throws -> R
    ) async throws -> (Result<R, any Error>, Int) {
        let logger = store.logger
        try await conn.checkedQuery("BEGIN", logger: logger)
        progress.markStarted()
        var changes: [KnowledgeBaseChange] = []
        do {
            try await conn.checkedQuery("INSERT INTO kb_nodes (node_id) VALUES (\(nodeID)) ON CONFLICT DO NOTHING", logger: logger)
            var version: Int64 = 0
            for try await v in try await conn.checkedQuery(
                "SELECT version FROM kb_nodes WHERE node_id = \(nodeID) FOR UPDATE", logger: logger
            ).decode(Int64.self) { version = v }
            try await applyCommitted(conn, through: version, inTransaction: true)
            knowledgeBase.startJournal()
            let result = Result { try body() }
            changes = knowledgeBase.takeJournal()
            if !changes.isEmpty {
                try await persist(changes, after: version, conn)
            }
            try await conn.checkedQuery("COMMIT", logger: logger)
            if !changes.isEmpty { applied.store(version + Int64(changes.count), ordering: .releasing) }
            return (result, changes.count)
        } catch {
            _ = try? await conn.checkedQuery("ROLLBACK", logger: logger)
            if !changes.isEmpty { stale.store(true, ordering: .releasing) }
            throw error
        }
    }

    /// Stores `changes` as versions `version+1…`, the rows they touched, and the new version.
    /// In change order: a clear empties the node's rows; a deletion removes its pattern's row
    /// (after writing the rows of the learns before it, which may have made that row), keeps its
    /// id as a tombstone and rewrites its symbols' emotive sums; the learns' rows are upserted.
    private func persist(_ changes: [KnowledgeBaseChange], after version: Int64, _ conn: PostgresConnection) async throws {
        var touched: [String] = []
        let kb = knowledgeBase
        for change in changes {
            switch change {
            case .clear:
                touched = []
                try await KnowledgeBaseRows.clear(node: nodeID, conn, logger: store.logger)
            case .learn(let events, _, _, _):
                touched.append(Naming.patternHash(events))
            case .delete(let name):
                let pending = touched.filter { $0 != name }
                if pending.count != touched.count {
                    // Learned in this transaction, then deleted: its row must exist to become a tombstone.
                    throw StoreError(.database, "PostgreSQL store: pattern \(name) was learned and deleted in one write")
                }
                try await KnowledgeBaseRows.write(kb.durableImage(of: touched), node: nodeID, conn, logger: store.logger)
                touched = []
                try await KnowledgeBaseRows.deletePattern(
                    named: name, node: nodeID, sums: { kb.symbolStats($0)?.emotives }, conn, logger: store.logger)
            }
        }
        try await KnowledgeBaseRows.write(knowledgeBase.durableImage(of: touched), node: nodeID, conn, logger: store.logger)
        try await KnowledgeBaseRows.commitVersions(
            changes.map(ReplicationRecords.encode), after: version, node: nodeID, conn, logger: store.logger)
    }

    /// Applies the committed changes after `applied` up to `version`, in order (caller holds the
    /// gate). `inTransaction`: the caller's transaction holds the node's row lock.
    private func applyCommitted(_ conn: PostgresConnection, through version: Int64, inTransaction: Bool) async throws {
        var current = applied.load(ordering: .acquiring)
        guard version > current else { return }
        var records: [(Int64, [UInt8], Double)] = []
        for try await (v, blob, committedAt) in try await conn.checkedQuery("""
            SELECT version, change, extract(epoch FROM committed_at)::float8 FROM kb_changes
            WHERE node_id = \(nodeID) AND version > \(current) AND version <= \(version) ORDER BY version
            """, logger: store.logger
        ).decode((Int64, ByteBuffer, Double).self) {
            records.append((v, Array(blob.readableBytesView), committedAt))
        }
        for (v, blob, committedAt) in records where v > current {
            guard v == current + 1 else {
                throw StoreError(.corrupt, "node '\(nodeID)': change \(current + 1) is missing (next is \(v))")
            }
            if ReplicationRecords.isReplaced(blob) {
                // An import rewrote the node: its rows are the state now (at their version).
                let (loader, loaded) = try await PostgresKnowledgeStore.load(nodeID, conn, inTransaction: inTransaction, logger: store.logger)
                knowledgeBase.restore(loader)
                current = loaded
            } else {
                knowledgeBase.apply(try ReplicationRecords.decodeChange(blob))
                current = v
            }
            applied.store(current, ordering: .releasing)
            store.metrics.applied(committedAt: committedAt)
        }
        guard current >= version else {
            throw StoreError(.corrupt, "node '\(nodeID)': changes \(current + 1)…\(version) are missing")
        }
    }

    /// Applies other replicas' changes up to `version` (the change feed).
    func catchUp(to version: Int64) async throws {
        guard version > appliedVersion else { return }
        try await gate.withLock {
            try await reloadIfStale()
            guard version > appliedVersion else { return }
            try await withBoundedConnection("catching up node '\(nodeID)'") { conn in
                try await self.applyCommitted(conn, through: version, inTransaction: false)
            }
        }
    }

    /// Read-your-writes: waits until memory reflects every change committed before this call
    /// (by any replica), at most `bound`; past it, throws (the call answers UNAVAILABLE rather
    /// than predict from a stale knowledge base).
    public func awaitCurrent(bound: Duration) async throws {
        if let deferred = DeferredVersionCheck.current {
            // Speculative session call: its write checks the committed version (no read here).
            try await awaitApplied(deferred.required(for: nodeID), bound: bound)
            deferred.noted(nodeID, applied: appliedVersion)
            return
        }
        var committed: Int64 = 0
        do {
            try store.checkBreaker()
            committed = try await OperationTimeout.run("the version of node '\(nodeID)'") { [store, nodeID] in
                var committed: Int64 = 0
                try await store.withConnection { conn in
                    for try await v in try await conn.checkedQuery(
                        "SELECT version FROM kb_nodes WHERE node_id = \(nodeID)", logger: store.logger
                    ).decode(Int64.self) { committed = v }
                }
                return committed
            }
            store.status.recordReachable()
        } catch let error as StoreError {
            if error.code != .circuitOpen { store.status.recordFailure(error) }
            throw error
        } catch {
            let e = StoreError(.database, "PostgreSQL: \(PostgresSetupError.explain(error, store.settings))")
            store.status.recordFailure(e)
            throw e
        }
        try await awaitApplied(committed, bound: bound)
    }

    /// Waits until memory reflects `committed`, asking the feed's catch-up for it, at most `bound`.
    private func awaitApplied(_ committed: Int64, bound: Duration) async throws {
        guard committed > appliedVersion else { return }
        // The feed may be applying already; this asks for it too, and waits at most `bound`.
        let version = committed
        Task { try? await self.catchUp(to: version) }
        let deadline = ContinuousClock.now + bound
        while appliedVersion < committed {
            guard ContinuousClock.now < deadline else {
                throw StoreError(.database, "node '\(nodeID)' is at version \(appliedVersion) here, \(committed) committed; not caught up within \(bound)")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    private func reloadIfStale() async throws {
        guard stale.load(ordering: .acquiring) else { return }
        let (loader, version) = try await withBoundedConnection("reloading node '\(nodeID)'") { [nodeID, store] conn in
            try await PostgresKnowledgeStore.load(nodeID, conn, inTransaction: false, logger: store.logger)
        }
        knowledgeBase.restore(loader)
        applied.store(version, ordering: .releasing)
        stale.store(false, ordering: .releasing)
    }
}

extension ReplicatedNode {
    /// How long a catch-up or reload may run once PostgreSQL answered (a large node's reload).
    static let longOperationBound: Duration = .seconds(60)

    /// A connection for `body`, bounded like a call's operation: the pool must lease it and
    /// PostgreSQL answer within `OperationTimeout.bound`, then `body` has up to
    /// `longOperationBound`. Whoever holds the node's gate uses this: an unbounded wait there
    /// (the pool queues lease requests for a minute while PostgreSQL is down) would queue every
    /// call on the node behind it, past PostgreSQL's return.
    func withBoundedConnection<R>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        let progress = OperationProgress()
        return try await OperationTimeout.run(what, bound: Self.longOperationBound, progress: progress) { [store] in
            try await store.withConnection { conn in
                progress.markStarted()
                return try await body(conn)
            }
        }
    }
}

/// A synchronous body handed to the connection pool's closure (see ``ReplicatedNode/write(_:)``).
struct UncheckedBody<R>: @unchecked Sendable {
    let run: () throws -> R
}
