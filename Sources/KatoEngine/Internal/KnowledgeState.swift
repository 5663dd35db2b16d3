/// The whole state of one knowledge base, with the indexes the candidate search needs.
///
/// A value type made of copy-on-write collections: readers copy it out under the knowledge base's
/// lock in O(1) and work on that consistent snapshot without holding the lock.
struct KnowledgeState: Sendable {
    /// Chunked, so that a learn while a prediction holds a view copies a chunk, not every pattern.
    var shapes = ChunkedArray<PatternShape>()
    var records = ChunkedArray<PatternRecord>()
    /// `PatternSummary(shapes[id])` for every id: the scoring's per-pattern fields in a flat table
    /// (PatternSummary.swift says why). Written wherever `shapes` is: ``insertShape(name:events:record:)``,
    /// `delete`, and the loader (`KnowledgeBase+DurableStore`); `summariesMatchShapes` checks it.
    var summaries = ChunkedArray<PatternSummary>()
    /// Pattern name → id (the names live in `shapes`; look up with ``id(named:)``).
    var idByName = PatternNameIndex()
    var symbolNames: [String] = []
    var symbolIds: [String: Int32] = [:]
    var symbolStats: [SymbolStats] = []
    /// symbol id → ids of the patterns containing it (each pattern once, in insertion order).
    var postings = ChunkedArray<[Int32]>()
    /// `floor(length / 10)` → pattern ids (KATO's length-partitioned index, Q11).
    var partitions: [Int: [Int32]] = [:]
    var totals = KnowledgeBaseTotals()
    /// Deleted patterns: their ids stay (tombstones: an empty shape, frequency 0) so that ids stay
    /// positions and the relative order of the live patterns never changes.
    var deletedCount = 0
    /// Interned symbols that no live pattern contains any more (all their counts went back to 0 by
    /// deletions); they do not count as learned symbols (`N_sym`) until learned again.
    var deadSymbols: Set<Int32> = []
    /// Sorted orders and statistics for browsing, once asked for (`KnowledgeState+Browsing`).
    var browsing: BrowsingIndexes? = nil
    /// Bumped by every write (learn, delete, clear, restore), so work done on a copy outside the
    /// lock can tell whether the state moved meanwhile (`KnowledgeBase.browsableState`).
    var writes: UInt64 = 0

    static let partitionSize = 10

    /// Number of live patterns.
    var liveCount: Int { shapes.count - deletedCount }

    /// Number of distinct symbols in the knowledge base (KATO's `symbols_kb` document count, `N_sym`).
    var liveSymbolCount: Int { symbolNames.count - deadSymbols.count }

    /// The id of the pattern named `name` (bare hash), if any.
    func id(named name: String) -> Int32? { idByName.find(name, in: shapes) }

    mutating func intern(_ symbol: String) -> Int32 {
        if let id = symbolIds[symbol] { return id }
        let id = Int32(symbolNames.count)
        symbolNames.append(symbol)
        symbolIds[symbol] = id
        symbolStats.append(SymbolStats())
        postings.append([])
        return id
    }

    /// Inserts a new pattern into the indexes and returns its id.
    mutating func insertShape(name: String, events: [[String]], record: PatternRecord) -> Int32 {
        var flat: [Int32] = []
        flat.reserveCapacity(events.reduce(0) { $0 + $1.count })
        for event in events { for symbol in event { flat.append(intern(symbol)) } }
        let shape = PatternShape(name: name, events: events, flatIds: flat)
        let id = Int32(shapes.count)
        shapes.append(shape)
        summaries.append(PatternSummary(shape))
        records.append(record)
        idByName.insert(id, in: shapes)
        let sorted = flat.sorted()
        for (i, s) in sorted.enumerated() where i == 0 || sorted[i - 1] != s { postings[Int(s)].append(id) }
        partitions[flat.count / Self.partitionSize, default: []].append(id)
        return id
    }

    /// Whether ``summaries`` describes ``shapes`` exactly (tests and assertions).
    var summariesMatchShapes: Bool {
        summaries.count == shapes.count && shapes.indices.allSatisfy { summaries[$0] == PatternSummary(shapes[$0]) }
    }

    /// Whether `id` is a deleted pattern's tombstone.
    func isDeleted(_ id: Int32) -> Bool { records[Int(id)].frequency == 0 }

    func pattern(_ id: Int32) -> Pattern {
        let shape = shapes[Int(id)]
        let record = records[Int(id)]
        return Pattern(
            name: shape.name, events: shape.events, length: shape.length, frequency: record.frequency,
            emotives: record.emotives, metadata: record.metadata)
    }
}
