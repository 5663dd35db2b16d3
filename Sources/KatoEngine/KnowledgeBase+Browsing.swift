/// Browsing a knowledge base (the pattern browser of a console): pages of patterns in an
/// order, filtered, and the statistics of the whole. Reads one consistent snapshot (O(1) under
/// the lock, as predictions do); costs O(patterns) per page, or O(patterns containing the
/// symbol) with a symbol filter, plus the sort of what matches.
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
    }

    /// Patterns `offset ..< offset + limit` of those matching the filters, in `order`.
    /// `namePrefix` compares with the bare hash (`PTRN|` optional).
    public func patterns(order: PatternOrder, symbol: String? = nil, namePrefix: String? = nil,
                         offset: Int, limit: Int) -> PatternPage {
        let s = view()
        var ids: [Int32]
        if let symbol {
            guard let sid = s.symbolIds[symbol] else { return PatternPage(patterns: [], total: 0) }
            ids = s.postings[Int(sid)]  // each pattern once, in learned order
        } else {
            ids = Array(0..<Int32(s.shapes.count))
        }
        let prefix = namePrefix.map { Naming.bareHash($0) } ?? ""
        // Deleted patterns keep their id with frequency 0 (a tombstone).
        ids.removeAll { s.records[Int($0)].frequency == 0 || (!prefix.isEmpty && !s.shapes[Int($0)].name.hasPrefix(prefix)) }
        switch order {
        case .learned:
            break
        case .name:
            ids.sort { s.shapes[Int($0)].name < s.shapes[Int($1)].name }
        case .frequencyDescending:
            ids.sort { a, b in
                let fa = s.records[Int(a)].frequency, fb = s.records[Int(b)].frequency
                return fa != fb ? fa > fb : s.shapes[Int(a)].name < s.shapes[Int(b)].name
            }
        case .lengthDescending:
            ids.sort { a, b in
                let la = s.shapes[Int(a)].length, lb = s.shapes[Int(b)].length
                return la != lb ? la > lb : s.shapes[Int(a)].name < s.shapes[Int(b)].name
            }
        }
        let start = min(max(0, offset), ids.count)
        let end = min(ids.count, start + max(0, limit))
        return PatternPage(patterns: ids[start..<end].map { s.pattern($0) }, total: ids.count)
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

    /// Counts and distributions of the whole knowledge base; `topSymbols` of them at most.
    public func statistics(topSymbols: Int = 20) -> Statistics {
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
