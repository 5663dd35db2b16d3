/// What browsing keeps up to date besides the knowledge base proper: the three sorted orders of
/// the live patterns (frequency, length, name; learn order is the ids themselves) and the
/// statistics (pattern count, total frequency, lengths, symbol count, the top symbols).
///
/// Built on the first page or statistics asked for (O(N log N) once, on a copy outside the
/// knowledge base's lock: `KnowledgeBase.browsableState`), then maintained by every learn and deletion (O(log N) and one block each, plus a look
/// at the pattern's symbols); a clear empties it. A knowledge base nobody browses pays nothing.
/// ``KnowledgeBase/restore(_:)`` drops it (rebuilt when next asked for).
struct BrowsingIndexes: Sendable {
    var byFrequency = PatternOrderIndex()
    var byLength = PatternOrderIndex()
    var byName = PatternOrderIndex()
    /// Live patterns whose name is not ASCII (prefix searches then take the full scan).
    var nonASCIINames = 0
    var patterns = 0
    var totalFrequency = 0
    var lengths: [Int: Int] = [:]
    /// Symbols whose frequency is above 0.
    var symbols = 0
    /// The ``topCount`` most frequent symbols (frequency, highest first; ties by name), when
    /// `topValid`. Learns only raise frequencies, so a learn keeps it exact; a deletion that
    /// lowers one of them invalidates it (recomputed on the next statistics).
    var top: [Int32] = []
    var topValid = true

    static let topCount = 64
}

extension KnowledgeState {
    // MARK: Entries

    func orderEntry(_ id: Int32, primary: Int) -> PatternOrderIndex.Entry {
        let shape = shapes[Int(id)]
        return .init(primary: Int64(primary), nameKey: shape.nameKey, id: id, ascii: Self.isASCII(shape.name))
    }

    static func isASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 < 0x80 } }

    /// An entry's name (its pattern is live: the shape holds it).
    func entryName(_ e: PatternOrderIndex.Entry) -> String { shapes[Int(e.id)].name }

    /// Symbol `a` sorts before `b` among the top symbols.
    func symbolPrecedes(_ a: Int32, _ b: Int32) -> Bool {
        let fa = symbolStats[Int(a)].frequency, fb = symbolStats[Int(b)].frequency
        return fa != fb ? fa > fb : symbolNames[Int(a)] < symbolNames[Int(b)]
    }

    // MARK: Building

    /// Builds the indexes now if they are not (the first page or statistics).
    mutating func ensureBrowsing() {
        guard browsing == nil else { return }
        var b = BrowsingIndexes()
        var byFrequency: [PatternOrderIndex.Entry] = [], byLength: [PatternOrderIndex.Entry] = []
        byFrequency.reserveCapacity(liveCount)
        byLength.reserveCapacity(liveCount)
        for i in shapes.indices where records[i].frequency > 0 {
            let id = Int32(i)
            let e = orderEntry(id, primary: 0)
            byFrequency.append(.init(primary: -Int64(records[i].frequency), nameKey: e.nameKey, id: id, ascii: e.ascii))
            byLength.append(.init(primary: -Int64(shapes[i].length), nameKey: e.nameKey, id: id, ascii: e.ascii))
            if !e.ascii { b.nonASCIINames += 1 }
            b.patterns += 1
            b.totalFrequency += records[i].frequency
            b.lengths[shapes[i].length, default: 0] += 1
        }
        let shapes = self.shapes
        let name = { (e: PatternOrderIndex.Entry) in shapes[Int(e.id)].name }
        b.byName = PatternOrderIndex(sorting: byLength.map { .init(primary: 0, nameKey: $0.nameKey, id: $0.id, ascii: $0.ascii) }, name)
        b.byFrequency = PatternOrderIndex(sorting: byFrequency, name)
        b.byLength = PatternOrderIndex(sorting: byLength, name)
        b.symbols = symbolStats.reduce(0) { $0 + ($1.frequency > 0 ? 1 : 0) }
        browsing = b
        recomputeTopSymbols()
    }

    /// The top symbols from all symbols (a scan keeping the best ``BrowsingIndexes/topCount``).
    mutating func recomputeTopSymbols() {
        var top: [Int32] = []
        for i in symbolStats.indices where symbolStats[i].frequency > 0 {
            offerTopSymbol(Int32(i), into: &top)
        }
        browsing?.top = top
        browsing?.topValid = true
    }

    /// Puts `sym` (not in `top`) into the sorted `top` if it belongs there.
    private func offerTopSymbol(_ sym: Int32, into top: inout [Int32]) {
        if top.count == BrowsingIndexes.topCount {
            guard symbolPrecedes(sym, top[top.count - 1]) else { return }
            top.removeLast()
        }
        var at = top.count
        while at > 0 && symbolPrecedes(sym, top[at - 1]) { at -= 1 }
        top.insert(sym, at: at)
    }

    // MARK: Maintenance (called by learn and delete when the indexes exist)

    /// After a learn of pattern `id` (new, or its frequency raised by one): `sortedSymbols` are its
    /// symbol ids sorted (repeats kept), whose statistics the learn raised.
    mutating func browsingDidLearn(_ id: Int32, isNew: Bool, sortedSymbols: [Int32]) {
        guard var b = browsing else { return }
        browsing = nil  // unique while it changes (no copy of the blocks)
        let shapes = self.shapes
        let name = { (e: PatternOrderIndex.Entry) in shapes[Int(e.id)].name }
        let f = records[Int(id)].frequency
        if isNew {
            let length = shapes[Int(id)].length
            let e = orderEntry(id, primary: 0)
            b.byName.insert(e, name)
            b.byLength.insert(.init(primary: -Int64(length), nameKey: e.nameKey, id: id, ascii: e.ascii), name)
            b.byFrequency.insert(.init(primary: -Int64(f), nameKey: e.nameKey, id: id, ascii: e.ascii), name)
            if !e.ascii { b.nonASCIINames += 1 }
            b.patterns += 1
            b.lengths[length, default: 0] += 1
        } else {
            let old = orderEntry(id, primary: -(f - 1))
            b.byFrequency.remove(old, name)
            b.byFrequency.insert(.init(primary: -Int64(f), nameKey: old.nameKey, id: id, ascii: old.ascii), name)
        }
        b.totalFrequency += 1
        var raised: [Int32] = []
        var i = 0
        while i < sortedSymbols.count {
            let sym = sortedSymbols[i]
            var j = i + 1
            while j < sortedSymbols.count && sortedSymbols[j] == sym { j += 1 }
            let now = symbolStats[Int(sym)].frequency
            if now > 0 && now - (j - i) <= 0 { b.symbols += 1 }
            raised.append(sym)
            i = j
        }
        var top = b.top
        if b.topValid {
            // The raised symbols leave the list (the rest stays sorted: their counts did not
            // change), then each is offered again: the best of the old list and the raised ones,
            // which is the best of all (a symbol in neither still follows every listed one).
            top.removeAll { raised.contains($0) }
            for sym in raised { offerTopSymbol(sym, into: &top) }
        }
        b.top = top
        browsing = b
    }

    /// Before deleting live pattern `id`: takes it out of the orders and the pattern statistics,
    /// and returns its distinct symbols' frequencies now (for ``browsingDidDelete(_:)``).
    mutating func browsingWillDelete(_ id: Int32) -> [(Int32, Int)] {
        guard var b = browsing else { return [] }
        browsing = nil
        let shapes = self.shapes
        let name = { (e: PatternOrderIndex.Entry) in shapes[Int(e.id)].name }
        let f = records[Int(id)].frequency, length = shapes[Int(id)].length
        let e = orderEntry(id, primary: 0)
        b.byName.remove(e, name)
        b.byLength.remove(.init(primary: -Int64(length), nameKey: e.nameKey, id: id, ascii: e.ascii), name)
        b.byFrequency.remove(.init(primary: -Int64(f), nameKey: e.nameKey, id: id, ascii: e.ascii), name)
        if !e.ascii { b.nonASCIINames -= 1 }
        b.patterns -= 1
        b.totalFrequency -= f
        b.lengths[length, default: 0] -= 1
        if b.lengths[length] == 0 { b.lengths[length] = nil }
        browsing = b
        var before: [(Int32, Int)] = []
        for sym in Set(shapes[Int(id)].flatIds) { before.append((sym, symbolStats[Int(sym)].frequency)) }
        return before
    }

    /// After the deletion: symbols whose frequency fell to 0 stop counting; a lowered top
    /// symbol invalidates the top list.
    mutating func browsingDidDelete(_ before: [(Int32, Int)]) {
        guard browsing != nil else { return }
        for (sym, was) in before {
            let now = symbolStats[Int(sym)].frequency
            if was > 0 && now <= 0 { browsing!.symbols -= 1 }
            if was <= 0 && now > 0 { browsing!.symbols += 1 }
            if now != was && browsing!.topValid && browsing!.top.contains(sym) { browsing!.topValid = false }
        }
    }

    /// The indexes of an emptied knowledge base, if this one kept them (a clear).
    var emptiedBrowsing: BrowsingIndexes? { browsing == nil ? nil : BrowsingIndexes() }
}
