/// What a durable store writes after some learns: the current records of the patterns they
/// touched, the statistics of those patterns' symbols, and the totals — read together from one
/// consistent state of the knowledge base.
public struct PersistenceImage: Sendable, Hashable {
    /// Touched patterns that exist, in learn order (oldest first).
    public var patterns: [Pattern]
    /// Statistics of every symbol of those patterns.
    public var symbols: [String: SymbolStats]
    public var totals: KnowledgeBaseTotals

    public init(patterns: [Pattern], symbols: [String: SymbolStats], totals: KnowledgeBaseTotals) {
        self.patterns = patterns
        self.symbols = symbols
        self.totals = totals
    }
}

extension KnowledgeBase {
    /// The persistence image of the patterns named `names` (bare hashes); names of patterns
    /// that do not exist (e.g. after a clear) are skipped. O(touched patterns + their symbols).
    public func persistenceImage(of names: some Sequence<String>) -> PersistenceImage {
        let s = view()
        var ids: [Int32] = []
        for name in names { if let id = s.id(named: name) { ids.append(id) } }
        ids.sort()
        var symbols: [String: SymbolStats] = [:]
        var patterns: [Pattern] = []
        patterns.reserveCapacity(ids.count)
        for id in ids {
            patterns.append(s.pattern(id))
            for sym in s.shapes[Int(id)].flatIds {
                let name = s.symbolNames[Int(sym)]
                if symbols[name] == nil { symbols[name] = s.symbolStats[Int(sym)] }
            }
        }
        return PersistenceImage(patterns: patterns, symbols: symbols, totals: s.totals)
    }
}
