import Synchronization

/// One node's long-term memory: learned patterns, symbol statistics and totals, with the indexes
/// used by the candidate search (length partitions and a symbol → patterns inverted index).
///
/// Thread-safety: every method may be called from any thread. State lives behind a `Mutex`;
/// writers (``learn(events:emotives:metadata:persistence:)``, ``clear()``, ``restore(_:)``) mutate it
/// under the lock, and readers (predictions, ``pattern(named:)``, ``snapshot()``) copy the
/// copy-on-write state out under the lock in O(1) and then work on that consistent snapshot without
/// holding the lock — so a long prediction never blocks a learn. A writer that runs while a reader
/// still holds a snapshot pays one copy of the touched collections.
///
/// A durable store can sit behind this API: all writes go through the three methods above, and
/// ``snapshot()`` / ``init(snapshot:)`` move the complete state as Sendable values.
public final class KnowledgeBase: Sendable {
    let state: Mutex<KnowledgeState>
    /// The writes since ``startJournal()``, in the order they changed the state (nil: off).
    let journal = Mutex<[KnowledgeBaseChange]?>(nil)

    /// Creates an empty knowledge base.
    public init() {
        state = Mutex(KnowledgeState())
    }

    /// Creates a knowledge base holding `snapshot` (indexes are rebuilt).
    public convenience init(snapshot: KnowledgeBaseSnapshot) {
        self.init()
        restore(snapshot)
    }

    /// The consistent state predictions read.
    func view() -> KnowledgeState {
        state.withLock { $0 }
    }

    /// Number of stored patterns.
    public var patternCount: Int { state.withLock { $0.liveCount } }

    /// Number of distinct symbols learned (those left in no pattern by deletions not counted).
    public var symbolCount: Int { state.withLock { $0.liveSymbolCount } }

    /// The totals document.
    public var totals: KnowledgeBaseTotals { state.withLock { $0.totals } }

    /// Statistics of one symbol, or `nil` if it was never learned (or is in no pattern since deletions).
    public func symbolStats(_ symbol: String) -> SymbolStats? {
        state.withLock { s in
            guard let id = s.symbolIds[symbol], !s.deadSymbols.contains(id) else { return nil }
            return s.symbolStats[Int(id)]
        }
    }

    /// The pattern with this name (`PTRN|` prefix optional), or `nil`.
    public func pattern(named name: String) -> Pattern? {
        let hash = Naming.bareHash(name)
        return state.withLock { s in s.id(named: hash).map { s.pattern($0) } }
    }

    /// Records one learn event (kato-semantics §3 steps 4–6, §1.5, §1.7, §1.8).
    ///
    /// - Parameters:
    ///   - events: the STM to learn (must hold at least 2 symbols; callers check).
    ///   - emotives: the averaged emotives of the learn (`average_emotives` of the accumulator); keys
    ///     whose average is exactly 0 are dropped; a non-empty dict appends one window entry.
    ///   - metadata: accumulated metadata (key → sorted unique strings), merged as a set union.
    ///   - persistence: size of the emotive window.
    @discardableResult
    public func learn(
        events: [[String]], emotives: [String: Double], metadata: [String: [String]], persistence: Int
    ) -> LearnOutcome {
        let name = Naming.patternHash(events)
        let stored = emotives.filter { $0.value != 0 }
        return state.withLock { s in
            s.writes &+= 1
            journal.withLock { j in
                j?.append(.learn(events: events, emotives: emotives, metadata: metadata, persistence: persistence))
            }
            let id: Int32
            let isNew: Bool
            if let existing = s.id(named: name) {
                id = existing
                isNew = false
                s.records[Int(id)].frequency += 1
                if !metadata.isEmpty {
                    var merged = s.records[Int(id)].metadata
                    for (key, values) in metadata {
                        var list = merged[key] ?? []
                        for v in values where !list.contains(v) { list.append(v) }
                        merged[key] = list
                    }
                    s.records[Int(id)].metadata = merged
                }
            } else {
                isNew = true
                id = s.insertShape(
                    name: name, events: events,
                    record: PatternRecord(frequency: 1, emotives: nil, metadata: metadata))
            }
            if !emotives.isEmpty {
                // Q10 fix: a pattern first learned without emotives gets a list now.
                var window = s.records[Int(id)].emotives ?? []
                window.append(stored)
                if window.count > persistence { window.removeFirst(window.count - persistence) }
                s.records[Int(id)].emotives = window
                if !stored.isEmpty {
                    var totals = s.records[Int(id)].emotiveTotals ?? [:]
                    for (k, v) in stored { totals[k, default: 0] += v }
                    s.records[Int(id)].emotiveTotals = totals
                }
            }
            // Statistics, counted on every learn event (Q19).
            let sorted = s.shapes[Int(id)].flatIds.sorted()
            var distinct = 0
            var i = 0
            while i < sorted.count {
                let sym = sorted[i]
                var j = i + 1
                while j < sorted.count && sorted[j] == sym { j += 1 }
                s.symbolStats[Int(sym)].frequency += j - i
                s.symbolStats[Int(sym)].patternMemberFrequency += 1
                s.revive(sym)
                for (k, v) in stored { s.symbolStats[Int(sym)].emotives[k, default: 0] += v }
                distinct += 1
                i = j
            }
            s.totals.totalPatternFrequencies += 1
            s.totals.totalSymbolFrequencies += sorted.count
            s.totals.totalSymbolsInPatternsFrequencies += distinct
            s.browsingDidLearn(id, isNew: isNew, sortedSymbols: sorted)
            return LearnOutcome(name: name, isNew: isNew, frequency: s.records[Int(id)].frequency)
        }
    }

    /// Deletes the pattern named `name` (`PTRN|` prefix optional): afterwards the knowledge base
    /// predicts exactly as one that never learned it (see `KnowledgeState.delete`); a later learn of
    /// the same events creates it anew. Returns `false`, changing nothing, if there is no such pattern.
    @discardableResult
    public func delete(named name: String) -> Bool {
        deletePattern(named: name) != nil
    }

    /// ``delete(named:)``, telling what a store needs to make it durable: the deleted pattern's id
    /// (its position in learn order) and its distinct symbols (whose statistics changed); nil,
    /// changing nothing, if there is no such pattern.
    public func deletePattern(named name: String) -> DeletedPattern? {
        let hash = Naming.bareHash(name)
        return state.withLock { s in
            guard let id = s.id(named: hash) else { return nil }
            s.writes &+= 1
            journal.withLock { j in j?.append(.delete(name: hash)) }
            let symbols = Set(s.shapes[Int(id)].flatIds).map { s.symbolNames[Int($0)] }
            s.delete(id)
            return DeletedPattern(id: Int(id), name: hash, symbols: symbols.sorted())
        }
    }

    /// Removes every pattern, statistic and total (KATO clear-all for the node).
    public func clear() {
        state.withLock { s in
            journal.withLock { j in j?.append(.clear) }
            let browsing = s.emptiedBrowsing, writes = s.writes &+ 1
            s = KnowledgeState()
            s.browsing = browsing
            s.writes = writes
        }
    }

    /// A complete copy of the knowledge base.
    public func snapshot() -> KnowledgeBaseSnapshot {
        let s = view()
        var symbols: [String: SymbolStats] = [:]
        for (i, name) in s.symbolNames.enumerated() where s.symbolStats[i] != SymbolStats() {
            symbols[name] = s.symbolStats[i]
        }
        return KnowledgeBaseSnapshot(
            patterns: (0..<Int32(s.shapes.count)).filter { !s.isDeleted($0) }.map { s.pattern($0) },
            symbols: symbols, totals: s.totals)
    }

    /// Replaces the whole state with `snapshot` (the entire KB is loaded — Q6 fix).
    public func restore(_ snapshot: KnowledgeBaseSnapshot) {
        var fresh = KnowledgeState()
        for p in snapshot.patterns where fresh.id(named: p.name) == nil {
            _ = fresh.insertShape(
                name: p.name, events: p.events,
                record: PatternRecord(frequency: p.frequency, emotives: p.emotives, metadata: p.metadata))
        }
        for (name, stats) in snapshot.symbols {
            let id = fresh.intern(name)
            fresh.symbolStats[Int(id)] = stats
        }
        fresh.totals = snapshot.totals
        state.withLock { s in
            fresh.writes = s.writes &+ 1
            s = fresh
        }
    }
}

/// A pattern ``KnowledgeBase/deletePattern(named:)`` deleted.
public struct DeletedPattern: Sendable, Hashable {
    /// Its id: its position in learn order, kept as a tombstone.
    public var id: Int
    /// Its bare hash.
    public var name: String
    /// Its distinct symbols, sorted.
    public var symbols: [String]
}
