/// Support for the durable store's schema v2 (`KatoStore`): patterns are keyed by their position
/// in learn order (the engine's pattern id), symbol frequencies and totals are derived from the
/// patterns at load, and only the per-symbol emotive sums — which cannot be recomputed from the
/// patterns' rolling emotive windows — are stored besides the patterns.
///
/// Nothing here changes how the knowledge base learns or predicts: ``KnowledgeBaseLoader`` builds
/// the same state as ``KnowledgeBase/restore(_:)`` of a consistent snapshot (same pattern ids, same
/// symbol ids, same statistics and totals — the sums `kato-server verify` checks).

/// What the store writes after some learns, read from one consistent state of the knowledge base.
public struct DurableImage: Sendable {
    /// A touched pattern with its id (its position in learn order, 0-based).
    public struct Row: Sendable {
        public var id: Int
        public var pattern: Pattern

        public init(id: Int, pattern: Pattern) {
            self.id = id
            self.pattern = pattern
        }
    }

    /// Touched patterns that exist, by increasing id.
    public var patterns: [Row]
    /// Current emotive sums of the symbols of touched patterns that were ever learned with
    /// emotives (only non-empty sums). Every learn that changes a symbol's sums is such a learn.
    public var symbolEmotives: [String: [String: Double]]
    /// Number of patterns in the knowledge base (ids `0..<patternCount`).
    public var patternCount: Int

    public init(patterns: [Row], symbolEmotives: [String: [String: Double]], patternCount: Int) {
        self.patterns = patterns
        self.symbolEmotives = symbolEmotives
        self.patternCount = patternCount
    }
}

extension KnowledgeBase {
    /// The durable image of the patterns named `names` (bare hashes); names of patterns that do
    /// not exist (e.g. after a clear) are skipped. O(touched patterns + their symbols).
    public func durableImage(of names: some Sequence<String>) -> DurableImage {
        let s = view()
        var ids: [Int32] = []
        for name in names { if let id = s.idByName[name] { ids.append(id) } }
        ids.sort()
        var rows: [DurableImage.Row] = []
        rows.reserveCapacity(ids.count)
        var emotives: [String: [String: Double]] = [:]
        for id in ids {
            rows.append(DurableImage.Row(id: Int(id), pattern: s.pattern(id)))
            guard s.records[Int(id)].emotives != nil else { continue }
            for sym in s.shapes[Int(id)].flatIds {
                let sums = s.symbolStats[Int(sym)].emotives
                if !sums.isEmpty { emotives[s.symbolNames[Int(sym)]] = sums }
            }
        }
        return DurableImage(patterns: rows, symbolEmotives: emotives, patternCount: s.shapes.count)
    }

    /// Creates a knowledge base holding what `loader` built.
    public convenience init(loaded loader: consuming KnowledgeBaseLoader) {
        self.init()
        restore(loader)
    }

    /// Replaces the whole state with what `loader` built.
    public func restore(_ loader: consuming KnowledgeBaseLoader) {
        let fresh = loader.state
        state.withLock { $0 = fresh }
    }
}

/// Builds a knowledge base from stored patterns in learn order: the pattern's id is the order of
/// ``append(name:events:frequency:emotives:metadata:)`` calls; symbol frequencies, pattern-member
/// frequencies and the totals are summed from the patterns (each learn of a pattern counted them
/// once, and its frequency counts its learns); emotive sums come from ``setSymbolEmotives(_:_:)``.
public struct KnowledgeBaseLoader: Sendable {
    var state = KnowledgeState()
    private var sortScratch: [Int32] = []

    public init(expectedPatterns: Int = 0) {
        if expectedPatterns > 0 {
            state.shapes.reserveCapacity(expectedPatterns)
            state.records.reserveCapacity(expectedPatterns)
            state.idByName.reserveCapacity(expectedPatterns)
        }
    }

    /// Number of patterns appended so far (= the id of the next one).
    public var patternCount: Int { state.shapes.count }

    /// Whether a pattern of this name was appended.
    public func contains(_ name: String) -> Bool { state.idByName[name] != nil }

    /// Appends the next pattern. Returns false (and appends nothing) if the name is already present.
    @discardableResult
    public mutating func append(
        name: String, events: [[String]], frequency: Int, emotives: [[String: Double]]?, metadata: [String: [String]]
    ) -> Bool {
        guard state.idByName[name] == nil else { return false }
        let id = state.insertShape(
            name: name, events: events, record: PatternRecord(frequency: frequency, emotives: emotives, metadata: metadata))
        sortScratch.removeAll(keepingCapacity: true)
        sortScratch.append(contentsOf: state.shapes[Int(id)].flatIds)
        sortScratch.sort()
        var distinct = 0
        var i = 0
        let n = sortScratch.count
        while i < n {
            let sym = Int(sortScratch[i])
            var j = i + 1
            while j < n && sortScratch[j] == sortScratch[i] { j += 1 }
            state.symbolStats[sym].frequency += (j - i) * frequency
            state.symbolStats[sym].patternMemberFrequency += frequency
            distinct += 1
            i = j
        }
        state.totals.totalPatternFrequencies += frequency
        state.totals.totalSymbolFrequencies += n * frequency
        state.totals.totalSymbolsInPatternsFrequencies += distinct * frequency
        return true
    }

    /// Sets the stored emotive sums of `symbol`.
    public mutating func setSymbolEmotives(_ symbol: String, _ sums: [String: Double]) {
        let id = state.intern(symbol)
        state.symbolStats[Int(id)].emotives = sums
    }
}
