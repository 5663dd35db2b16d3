import KatoEngine

/// One node's knowledge base with its durability: the in-memory ``KnowledgeBase`` (the index
/// every read uses) and the writes recorded since the writer's last batch.
///
/// Ordering (memory first, then disk, acknowledged after disk):
/// 1. A caller changes the knowledge base only through ``recordLearn(_:)`` / ``recordClear(_:)`` /
///    ``recordDelete(_:)``,
///    which run the engine's write and note what it touched while holding the node's gate.
/// 2. The writer thread takes the node's gate, swaps the noted names out and reads the
///    ``DurableImage`` of exactly that state — so everything it writes corresponds to noted
///    writes — and commits it (one transaction, one fsync for every node in the batch).
/// 3. The ticket resolves after the commit; only then does the server answer the call.
/// 4. If the commit fails, the writer reloads the node's memory from disk under the gate and fails
///    every ticket not yet committed, so memory never keeps a write that is not durable.
/// A crash between 1 and 3 loses only unacknowledged writes: on restart memory is rebuilt from disk.
public final class DurableNode: Sendable {
    public let nodeID: String
    public let knowledgeBase: KnowledgeBase

    struct Pending {
        var dirty: Set<String> = []
        var cleared = false
        /// Ids of patterns deleted since the last batch (tombstones to write) and their symbols.
        var deleted: [Int] = []
        var deletedSymbols: Set<String> = []
        var learns = 0
        var ticket: DurabilityTicket?
        /// Memory could not be reloaded after a failed commit: writes are refused until it is.
        var unreconciled: StoreError?
    }

    let pending = Locked(Pending())
    private let writer: GroupCommitWriter?

    init(nodeID: String, knowledgeBase: KnowledgeBase, writer: GroupCommitWriter?) {
        self.nodeID = nodeID
        self.knowledgeBase = knowledgeBase
        self.writer = writer
    }

    /// A node kept in memory only (no data directory): tickets are nil.
    public convenience init(inMemory nodeID: String, knowledgeBase: KnowledgeBase = KnowledgeBase()) {
        self.init(nodeID: nodeID, knowledgeBase: knowledgeBase, writer: nil)
    }

    /// Whether writes reach a disk.
    public var isDurable: Bool { writer != nil }

    /// Runs `body` — one engine learn on this node's knowledge base — and records the pattern it
    /// stored. Returns the learn's result and the ticket to await before acknowledging it (nil when
    /// nothing was stored or the node is memory-only).
    public func recordLearn(_ body: () throws -> LearnResult) throws -> (LearnResult, DurabilityTicket?) {
        guard let writer else { return (try body(), nil) }
        let (result, ticket, first) = try pending.withLock { p throws -> (LearnResult, DurabilityTicket?, Bool) in
            if let error = p.unreconciled { throw error }
            let result = try body()
            guard let outcome = result.outcome else { return (result, nil, false) }
            p.dirty.insert(outcome.name)
            p.learns += 1
            let first = p.ticket == nil
            if first { p.ticket = DurabilityTicket() }
            return (result, p.ticket, first)
        }
        if first { writer.enqueue(self) }
        return (result, ticket)
    }

    /// Runs `body` — a clear of this node's knowledge base — and records it; the writer deletes the
    /// node's rows in the same transaction as any later learns of the batch (atomic).
    public func recordClear(_ body: () throws -> Void) throws -> DurabilityTicket? {
        guard let writer else {
            try body()
            return nil
        }
        let (ticket, first) = try pending.withLock { p throws -> (DurabilityTicket, Bool) in
            if let error = p.unreconciled { throw error }
            try body()
            p.cleared = true
            p.dirty = []
            p.deleted = []
            p.deletedSymbols = []
            let first = p.ticket == nil
            if first { p.ticket = DurabilityTicket() }
            return (p.ticket!, first)
        }
        if first { writer.enqueue(self) }
        return ticket
    }

    /// Runs `body` — a deletion of one pattern of this node's knowledge base — and records it: the
    /// writer removes the pattern's row, keeps its id as a tombstone and rewrites the emotive sums of
    /// its symbols, in the same transaction as the batch's learns. Returns the deleted pattern (nil,
    /// and no ticket, when there was no such pattern) and the ticket to await before acknowledging.
    public func recordDelete(_ body: () throws -> DeletedPattern?) throws -> (DeletedPattern?, DurabilityTicket?) {
        guard let writer else { return (try body(), nil) }
        let (deleted, ticket, first) = try pending.withLock { p throws -> (DeletedPattern?, DurabilityTicket?, Bool) in
            if let error = p.unreconciled { throw error }
            guard let deleted = try body() else { return (nil, nil, false) }
            p.deleted.append(deleted.id)
            p.deletedSymbols.formUnion(deleted.symbols)
            let first = p.ticket == nil
            if first { p.ticket = DurabilityTicket() }
            return (deleted, p.ticket, first)
        }
        if first { writer.enqueue(self) }
        return (deleted, ticket)
    }

    /// What the writer commits next: taken under the gate together with the image it describes.
    struct Batch {
        var node: DurableNode
        var image: DurableImage
        var cleared: Bool
        /// Tombstones to write (ids, ascending), and the deleted patterns' symbols' emotive sums
        /// now (nil: none left, the row goes).
        var deleted: [Int]
        var deletedSymbolEmotives: [String: [String: Double]?]
        var learns: Int
        var ticket: DurabilityTicket
    }

    func takeBatch() -> Batch? {
        pending.withLock { p -> Batch? in
            guard let ticket = p.ticket else { return nil }
            var sums: [String: [String: Double]?] = [:]
            for symbol in p.deletedSymbols {
                let now = knowledgeBase.symbolStats(symbol)?.emotives ?? [:]
                let value: [String: Double]? = now.isEmpty ? nil : now
                sums[symbol] = .some(value)
            }
            let batch = Batch(
                node: self, image: knowledgeBase.durableImage(of: p.dirty), cleared: p.cleared,
                deleted: p.deleted.sorted(), deletedSymbolEmotives: sums, learns: p.learns, ticket: ticket)
            p = Pending(unreconciled: p.unreconciled)
            return batch
        }
    }

    /// After a failed commit: memory := `durable` (the node as on disk), and every write recorded
    /// since the failed batch was taken fails with `error` (it was never made durable).
    func rollBack(to durable: KnowledgeBaseLoader, error: StoreError) {
        let ticket = pending.withLock { p -> DurabilityTicket? in
            let ticket = p.ticket
            p = Pending()
            knowledgeBase.restore(durable)
            return ticket
        }
        ticket?.resolve(.failure(error))
    }

    /// After a failed commit whose rollback could not read the disk: refuse writes until reconciled.
    func markUnreconciled(_ error: StoreError) {
        let ticket = pending.withLock { p -> DurabilityTicket? in
            let ticket = p.ticket
            p = Pending(unreconciled: error)
            return ticket
        }
        ticket?.resolve(.failure(error))
    }

    var isUnreconciled: Bool { pending.withLock { $0.unreconciled != nil } }
}
