/// Browsing a knowledge base (the pattern browser of a console): pages of patterns in an
/// order, filtered, and the statistics of the whole. Reads one consistent snapshot (O(1) under
/// the lock, as predictions do). Unfiltered pages and the statistics come from orders and counts
/// maintained by learns and deletions (O(log N + page)); filtered pages from one pass over the
/// patterns (or the symbol's).
extension KnowledgeBase {
    public enum PatternOrder: Sendable, Hashable {
        /// Frequency, highest first; ties by name.
        case frequencyDescending
        /// Name, ascending.
        case name
        /// Length in symbols, longest first; ties by name.
        case lengthDescending
        /// The order patterns were first learned.
        case learned
    }

    public struct PatternPage: Sendable, Hashable {
        public var patterns: [Pattern]
        /// Patterns matching the filters, over all pages.
        public var total: Int
        /// Where the next page starts (nil: this was the last page).
        public var next: PageKey?
    }

    /// A position in an order (keyset paging): the last pattern of a page, by its sort key.
    /// It stays meaningful while patterns are learned or deleted: the next page holds what
    /// sorts after it then (a pattern whose frequency moved across it may be seen twice or
    /// not at all, as with any keyset paging; `.learned` and `.name` never move).
    public struct PageKey: Sendable, Hashable {
        /// Frequency or length, for the orders by them.
        public var value: Int
        public var name: String
        public var id: Int32

        public init(value: Int, name: String, id: Int32) {
            self.value = value
            self.name = name
            self.id = id
        }
    }

    /// The state with its browsing indexes. Their first build (O(N log N): seconds at 1M patterns)
    /// runs on a copy outside the lock, so learns, deletions and predictions are not held up
    /// meanwhile; it is installed only if no write came in between (`KnowledgeState.writes`),
    /// else built again — the third time under the lock, so a steady stream of writes cannot
    /// starve the reader.
    func browsableState() -> KnowledgeState {
        for _ in 0..<2 {
            let seen = view()
            if seen.browsing != nil { return seen }
            var built = seen
            built.ensureBrowsing()
            let installed = state.withLock { s -> KnowledgeState? in
                if s.browsing != nil { return s }
                guard s.writes == seen.writes else { return nil }
                s.browsing = built.browsing
                return s
            }
            if let installed { return installed }
        }
        return state.withLock { s in
            s.ensureBrowsing()
            return s
        }
    }

    /// The first `limit` patterns matching the filters that sort after `after` (from the start
    /// when nil), in `order`, with the total matching. `namePrefix` compares with the bare hash
    /// (`PTRN|` optional). Without a symbol filter the page comes from the maintained orders
    /// (`KnowledgeState+Browsing`): a seek and a walk, O(log N + limit) — a name prefix too when
    /// sorting by name; the learn order walks the ids. A name prefix in another order is one pass
    /// over the prefix's patterns (read from the name order), a symbol filter one over the
    /// symbol's, see ``scanPatterns``.
    public func patterns(order: PatternOrder, symbol: String? = nil, namePrefix: String? = nil,
                         after: PageKey? = nil, limit: Int) -> PatternPage {
        let prefix = namePrefix.map { Naming.bareHash($0) } ?? ""
        if symbol == nil, prefix.isEmpty || order == .name {
            let s = browsableState()
            if let page = Self.indexedPage(s, order: order, prefix: prefix, after: after, limit: max(0, limit)) { return page }
        } else if symbol == nil {
            // A name prefix in another order: the prefix's run of the name order is the candidate
            // set (1/16 of the patterns per hex digit), ordered by the pass.
            let s = browsableState()
            if let ids = Self.idsWithNamePrefix(s, prefix) {
                return scanPatterns(order: order, namePrefix: namePrefix, after: after, limit: limit, in: s, candidates: ids)
            }
        }
        return scanPatterns(order: order, symbol: symbol, namePrefix: namePrefix, after: after, limit: limit)
    }

    /// The live patterns whose name starts with `prefix`, from the name order; nil when it
    /// cannot tell (no orders, or a name or the prefix not ASCII: see `indexedPage`).
    static func idsWithNamePrefix(_ s: KnowledgeState, _ prefix: String) -> [Int32]? {
        guard let b = s.browsing, b.nonASCIINames == 0, KnowledgeState.isASCII(prefix) else { return nil }
        let shapes = s.shapes
        let index = b.byName
        var ids: [Int32] = []
        index.walk(from: index.partition { shapes[Int($0.id)].name < prefix }) { e in
            guard shapes[Int(e.id)].name.hasPrefix(prefix) else { return false }
            ids.append(e.id)
            return true
        }
        return ids
    }

    /// ``patterns(order:symbol:namePrefix:after:limit:)`` by one pass over the patterns (or the
    /// symbol's), keeping the best `limit` in a sorted buffer: no sort of the whole knowledge base
    /// per page. The reference the maintained orders are tested against.
    /// `candidates` (with the state `s` they were read from): the only ids to consider, instead
    /// of the symbol's or every pattern.
    func scanPatterns(order: PatternOrder, symbol: String? = nil, namePrefix: String? = nil,
                      after: PageKey? = nil, limit: Int, in state: KnowledgeState? = nil, candidates: [Int32]? = nil) -> PatternPage {
        let s = state ?? view()
        let limit = max(0, limit)
        let prefix = namePrefix.map { Naming.bareHash($0) } ?? ""
        let key: (Int32) -> PageKey = { id in
            let value: Int
            switch order {
            case .frequencyDescending: value = s.records[Int(id)].frequency
            case .lengthDescending: value = s.shapes[Int(id)].length
            case .name, .learned: value = 0
            }
            return PageKey(value: value, name: s.shapes[Int(id)].name, id: id)
        }
        let precedes: (PageKey, PageKey) -> Bool = { a, b in
            switch order {
            case .learned: return a.id < b.id
            case .name: return a.name != b.name ? a.name < b.name : a.id < b.id
            case .frequencyDescending, .lengthDescending:
                if a.value != b.value { return a.value > b.value }
                return a.name != b.name ? a.name < b.name : a.id < b.id
            }
        }
        // The order's first criterion as an integer, ascending (0 for `.name`, which has none):
        // most patterns are told apart from `after` and from the buffer's last by it alone,
        // without building a key (a String retained) or comparing names, so a page over 1M
        // patterns is one tight pass. Equal integers fall back to the whole comparison.
        let primary: (Int32) -> Int = { id in
            switch order {
            case .frequencyDescending: -s.records[Int(id)].frequency
            case .lengthDescending: -s.shapes[Int(id)].length
            case .learned: Int(id)
            case .name: 0
            }
        }
        let afterPrimary = after.map { Self.primary(of: $0, order) }  // as it was when the page was read
        var total = 0
        var best: [PageKey] = []  // sorted, at most limit + 1 (one more tells whether a next page exists)
        var lastPrimary = Int.max  // the buffer's last's, once the buffer is full
        func consider(_ id: Int32) {
            // Deleted patterns keep their id with frequency 0 (a tombstone).
            guard s.records[Int(id)].frequency > 0, prefix.isEmpty || s.shapes[Int(id)].name.hasPrefix(prefix) else { return }
            total += 1
            let p = primary(id)
            if let after, let afterPrimary {
                if p < afterPrimary { return }
                if p == afterPrimary, !precedes(after, key(id)) { return }
            }
            if p > lastPrimary { return }
            let k = key(id)
            if best.count == limit + 1, let last = best.last, !precedes(k, last) { return }
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if precedes(best[mid], k) { lo = mid + 1 } else { hi = mid }
            }
            best.insert(k, at: lo)
            if best.count > limit + 1 { best.removeLast() }
            if best.count == limit + 1, let last = best.last { lastPrimary = Self.primary(of: last, order) }
        }
        if let candidates {
            for id in candidates { consider(id) }
        } else if let symbol {
            guard let sid = s.symbolIds[symbol] else { return PatternPage(patterns: [], total: 0, next: nil) }
            for id in s.postings[Int(sid)] { consider(id) }  // each pattern once
        } else {
            for id in 0..<Int32(s.shapes.count) { consider(id) }
        }
        let page = best.prefix(limit)
        return PatternPage(patterns: page.map { s.pattern($0.id) }, total: total,
                           next: best.count > limit ? page.last : nil)
    }

    /// A page key's first criterion in `order`, as `patterns` compares it (ascending).
    private static func primary(of key: PageKey, _ order: PatternOrder) -> Int {
        switch order {
        case .frequencyDescending, .lengthDescending: -key.value
        case .learned: Int(key.id)
        case .name: 0
        }
    }

    public struct Statistics: Sendable, Hashable {
        public var patternCount: Int
        public var symbolCount: Int
        public var totalFrequency: Int
        /// Length in symbols → number of patterns.
        public var lengthDistribution: [Int: Int]
        /// The most frequent symbols, highest first; ties by name.
        public var topSymbols: [SymbolCount]
    }

    public struct SymbolCount: Sendable, Hashable {
        public var symbol: String
        public var stats: SymbolStats
    }

    /// Counts and distributions of the whole knowledge base; `topSymbols` of them at most. Kept
    /// up to date by learns and deletions once first asked for (`KnowledgeState+Browsing`).
    public func statistics(topSymbols: Int = 20) -> Statistics {
        let n = max(0, topSymbols)
        _ = browsableState()
        let s = state.withLock { s in
            s.ensureBrowsing()  // built by browsableState unless writers kept it from installing it
            if n <= BrowsingIndexes.topCount, s.browsing?.topValid == false { s.recomputeTopSymbols() }
            return s
        }
        guard let b = s.browsing, n <= BrowsingIndexes.topCount else { return scanStatistics(topSymbols: n) }
        return Statistics(
            patternCount: b.patterns, symbolCount: b.symbols, totalFrequency: b.totalFrequency,
            lengthDistribution: b.lengths,
            topSymbols: b.top.prefix(n).map { SymbolCount(symbol: s.symbolNames[Int($0)], stats: s.symbolStats[Int($0)]) })
    }

    /// ``statistics(topSymbols:)`` by a pass over everything (the reference of the maintained ones).
    func scanStatistics(topSymbols: Int = 20) -> Statistics {
        let s = view()
        var lengths: [Int: Int] = [:]
        var patterns = 0, frequency = 0
        for id in s.shapes.indices where s.records[id].frequency > 0 {
            patterns += 1
            frequency += s.records[id].frequency
            lengths[s.shapes[id].length, default: 0] += 1
        }
        let symbols = s.symbolNames.indices
            .map { SymbolCount(symbol: s.symbolNames[$0], stats: s.symbolStats[$0]) }
            .filter { $0.stats.frequency > 0 }
            .sorted { $0.stats.frequency != $1.stats.frequency ? $0.stats.frequency > $1.stats.frequency : $0.symbol < $1.symbol }
        return Statistics(
            patternCount: patterns, symbolCount: symbols.count, totalFrequency: frequency,
            lengthDistribution: lengths,
            topSymbols: Array(symbols.prefix(max(0, topSymbols))))
    }
}
