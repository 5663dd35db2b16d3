/// Pages from the maintained orders (`KnowledgeState+Browsing`): a seek past the page key and a
/// walk of `limit + 1` entries (one more tells whether a next page exists). Same order, same ties,
/// same page keys and totals as ``KnowledgeBase/scanPatterns(order:symbol:namePrefix:after:limit:)``.
extension KnowledgeBase {
    /// The page, or nil when the orders cannot serve it (a name prefix while some names are not
    /// ASCII: their `String` order need not keep a prefix's names together).
    static func indexedPage(_ s: KnowledgeState, order: PatternOrder, prefix: String,
                            after: PageKey?, limit: Int) -> PatternPage? {
        guard let b = s.browsing else { return nil }
        let index: PatternOrderIndex
        switch order {
        case .learned:
            guard prefix.isEmpty else { return nil }
            return learnedPage(s, after: after, limit: limit)
        case .frequencyDescending: index = b.byFrequency
        case .lengthDescending: index = b.byLength
        case .name: index = b.byName
        }
        let shapes = s.shapes
        let name = { (e: PatternOrderIndex.Entry) in shapes[Int(e.id)].name }
        var start = (block: 0, index: 0)
        var total = index.count
        if !prefix.isEmpty {
            guard b.nonASCIINames == 0, KnowledgeState.isASCII(prefix) else { return nil }
            // The names with the prefix are one run of the name order.
            let lower = index.partition { name($0) < prefix }
            let upper = index.partition { let n = name($0); return n < prefix || n.hasPrefix(prefix) }
            total = index.rank(upper) - index.rank(lower)
            start = lower
        }
        if let after {
            let primary: Int64 = order == .name ? 0 : -Int64(after.value)
            var key: UInt64 = 0, count = 0
            for byte in after.name.utf8.prefix(8) {
                key = key << 8 | UInt64(byte)
                count += 1
            }
            let probe = PatternOrderIndex.Entry(
                primary: primary, nameKey: count == 0 ? 0 : key << (8 * UInt64(8 - count)), id: after.id,
                ascii: KnowledgeState.isASCII(after.name))
            // Entries not after the page key come first.
            let past = index.partition { e in
                if probe.primary != e.primary { return !(probe.primary < e.primary) }
                if probe.ascii && e.ascii && probe.nameKey != e.nameKey { return !(probe.nameKey < e.nameKey) }
                let n = name(e)
                if after.name != n { return !(after.name < n) }
                return !(probe.id < e.id)
            }
            if past.block > start.block || (past.block == start.block && past.index > start.index) { start = past }
        }
        var ids: [Int32] = []
        ids.reserveCapacity(min(limit + 1, total))
        index.walk(from: start) { e in
            if !prefix.isEmpty && !name(e).hasPrefix(prefix) { return false }
            ids.append(e.id)
            return ids.count <= limit
        }
        return page(s, order: order, ids: ids, total: total, limit: limit)
    }

    /// The learn order is the ids: the live ones after the page key's.
    private static func learnedPage(_ s: KnowledgeState, after: PageKey?, limit: Int) -> PatternPage {
        var ids: [Int32] = []
        var id = after.map { max(0, Int($0.id) + 1) } ?? 0
        while id < s.records.count && ids.count <= limit {
            if s.records[id].frequency > 0 { ids.append(Int32(id)) }
            id += 1
        }
        return page(s, order: .learned, ids: ids, total: s.liveCount, limit: limit)
    }

    /// The page of the first `limit` of `ids` (one more: there is a next page).
    private static func page(_ s: KnowledgeState, order: PatternOrder, ids: [Int32], total: Int, limit: Int) -> PatternPage {
        let shown = ids.prefix(limit)
        var next: PageKey?
        if ids.count > limit, let last = shown.last {
            let value: Int
            switch order {
            case .frequencyDescending: value = s.records[Int(last)].frequency
            case .lengthDescending: value = s.shapes[Int(last)].length
            case .name, .learned: value = 0
            }
            next = PageKey(value: value, name: s.shapes[Int(last)].name, id: last)
        }
        return PatternPage(patterns: shown.map { s.pattern($0) }, total: total, next: next)
    }
}
