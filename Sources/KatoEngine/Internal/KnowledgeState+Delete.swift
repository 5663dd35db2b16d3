/// Deleting a pattern: the knowledge base afterwards predicts exactly as one that never learned it.
///
/// What predictions read, and how each is restored:
/// - the candidate indexes: the id leaves its symbols' postings and its length partition (both are
///   ascending id lists, so the order of the remaining candidates is unchanged), and the name index;
/// - the pattern-member frequencies and `total_symbols_in_patterns_frequencies` (probabilities),
///   `total_pattern_frequencies`: integer counts, decreased by exactly what the pattern's learns
///   added (each of its `frequency` learns counted each distinct symbol once, its length once);
/// - `N_sym`: a symbol left in no live pattern stops counting (``KnowledgeState/deadSymbols``);
/// - pattern ids: the id stays as a tombstone (an empty shape, frequency 0), so live ids keep their
///   relative order — the order candidates are scored, groups numbered and `W` summed in.
/// Symbol emotive sums (not read by predictions) are decreased by the pattern's own contributions;
/// that is floating-point subtraction, not a bit-exact rebuild, and for a pattern loaded from a
/// store (whose per-learn contributions are unknown) the contributions of its emotive window are used.
extension KnowledgeState {
    /// Deletes the live pattern `id`.
    mutating func delete(_ id: Int32) {
        let index = Int(id)
        let shape = shapes[index]
        let record = records[index]
        let f = record.frequency
        precondition(f > 0, "delete of a deleted pattern")
        let browsed = browsingWillDelete(id)
        defer { browsingDidDelete(browsed) }
        let contributions = record.emotiveTotals ?? Self.windowSums(record.emotives)
        let sorted = shape.flatIds.sorted()
        var distinct = 0
        var i = 0
        while i < sorted.count {
            let sym = sorted[i]
            var j = i + 1
            while j < sorted.count && sorted[j] == sym { j += 1 }
            let s = Int(sym)
            symbolStats[s].frequency -= f * (j - i)
            symbolStats[s].patternMemberFrequency -= f
            if symbolStats[s].patternMemberFrequency == 0 {
                symbolStats[s] = SymbolStats()
                deadSymbols.insert(sym)
            } else {
                for (k, v) in contributions {
                    guard let sum = symbolStats[s].emotives[k] else { continue }
                    let rest = sum - v
                    symbolStats[s].emotives[k] = rest == 0 ? nil : rest
                }
            }
            Self.remove(id, from: &postings[s])
            distinct += 1
            i = j
        }
        totals.totalPatternFrequencies -= f
        totals.totalSymbolFrequencies -= f * sorted.count
        totals.totalSymbolsInPatternsFrequencies -= f * distinct
        let partition = shape.length / Self.partitionSize
        if var members = partitions[partition] {
            partitions[partition] = nil  // unique, so the removal does not copy
            Self.remove(id, from: &members)
            if !members.isEmpty { partitions[partition] = members }
        }
        idByName.remove(id, in: shapes)
        shapes[index] = Self.tombstone
        summaries[index] = PatternSummary(Self.tombstone)
        records[index] = PatternRecord(frequency: 0, emotives: nil, metadata: [:])
        deletedCount += 1
    }

    /// A learn of symbol `sym` after it was left in no pattern: it counts again.
    @inline(__always)
    mutating func revive(_ sym: Int32) {
        if !deadSymbols.isEmpty { deadSymbols.remove(sym) }
    }

    static let tombstone = PatternShape(name: "", symbols: [], eventEnds: [], flatIds: [])

    /// Removes `id` from an ascending id list.
    static func remove(_ id: Int32, from list: inout [Int32]) {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        if lo < list.count && list[lo] == id {
            list.remove(at: lo)
        } else if let at = list.firstIndex(of: id) {
            list.remove(at: at)  // not sorted after all: still exact
        }
    }

    /// Sum of an emotive window per key (the stored contributions of a loaded pattern).
    static func windowSums(_ window: [[String: Double]]?) -> [String: Double] {
        var sums: [String: Double] = [:]
        for entry in window ?? [] { for (k, v) in entry { sums[k, default: 0] += v } }
        return sums
    }
}

extension PatternNameIndex {
    /// Removes `id` (whose name is `shapes[id].name`, still in place) with backward-shift deletion,
    /// so that every other name stays reachable on its probe path.
    mutating func remove<C: RandomAccessCollection>(_ id: Int32, in shapes: C) where C.Element == PatternShape, C.Index == Int {
        withSlots { slots in
            let mask = slots.count - 1
            let h = Self.hash(shapes[Int(id)].name)
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let s = slots[i]
                if s == 0 { return false }
                if Int32(truncatingIfNeeded: s & 0xffff_ffff) - 1 == id { break }
                i = (i + 1) & mask
            }
            var j = i
            while true {
                j = (j + 1) & mask
                let s = slots[j]
                if s == 0 { break }
                let other = Int(truncatingIfNeeded: s & 0xffff_ffff) - 1
                let home = Int(truncatingIfNeeded: Self.hash(shapes[other].name)) & mask
                // Move s back into the hole at i unless its home lies cyclically in (i, j].
                let inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j)
                if !inRange {
                    slots[i] = s
                    i = j
                }
            }
            slots[i] = 0
            return true
        }
    }
}
