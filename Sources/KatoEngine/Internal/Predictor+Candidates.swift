import CKatoSIMD

/// The candidate filter (KATO's IndexManager, Q11) and the order in which candidates are scored.
extension Predictor {
    /// Positions `0..<lengths.count` ordered by `lengths` (stable counting sort; lengths ≤ `longest`).
    static func positionsByLength(_ lengths: UnsafeBufferPointer<Int32>, longest: Int) -> [Int32] {
        var starts = [Int32](repeating: 0, count: longest + 2)
        for l in lengths { starts[Int(l) + 1] += 1 }
        for k in 1..<starts.count { starts[k] += starts[k - 1] }
        var order = [Int32](repeating: 0, count: lengths.count)
        for (p, l) in lengths.enumerated() {
            order[Int(starts[Int(l)])] = Int32(p)
            starts[Int(l)] += 1
        }
        return order
    }

    /// The candidates before their length test: ascending ids, and the length partitions an id must
    /// fall in to stay (`nil`: every id stays). ``lengthFiltered(_:partitions:)`` applies the test to
    /// any contiguous range of `ids`, so a split query tests each piece's range on the thread that
    /// scores it (the test reads each candidate's shape: in a large knowledge base a cache miss each).
    struct CandidateSet {
        var ids: [Int32]
        var lengthPartitions: ClosedRange<Int>?
    }

    /// Candidate ids (ascending), exactly IndexManager.search_candidates: `LC ∪ SC` for q ≤ 2, else
    /// `LC ∩ SC` if LC is non-empty, else `SC` (SC: patterns holding a symbol of `state[:10]`, from the
    /// inverted index; LC: the length partitions within the tolerance of q).
    func candidates(q: Int, stateIds: [Int32]) -> [Int32] {
        let set = candidateSet(q: q, stateIds: stateIds)
        return lengthFiltered(set.ids[...], partitions: set.lengthPartitions)
    }

    /// Only the postings of the state's symbols are walked (plus the partitions themselves for q ≤ 2,
    /// where LC is part of the answer); LC membership of an SC candidate is its length's partition
    /// (tested later, ``lengthFiltered(_:partitions:)``), so the intersection costs nothing per pattern
    /// not in SC.
    func candidateSet(q: Int, stateIds: [Int32]) -> CandidateSet {
        let count = kb.shapes.count
        let size = KnowledgeState.partitionSize
        let partition = q / size
        let tolerance = max(1, Int(0.5 * Double(q) / Double(size)))
        let low = partition - tolerance, high = partition + tolerance
        var lcNonEmpty = false
        for p in low...high where !(kb.partitions[p]?.isEmpty ?? true) { lcNonEmpty = true }
        var bits = [UInt64](repeating: 0, count: (count + 63) >> 6)
        var marked = 0
        bits.withUnsafeMutableBufferPointer { bits in
            for id in stateIds.prefix(10) where id >= 0 {
                for pid in kb.postings[Int(id)] {
                    bits[Int(pid) >> 6] |= 1 << UInt64(pid & 63)
                    marked += 1
                }
            }
            if q <= 2 {
                for p in low...high {
                    guard let ids = kb.partitions[p] else { continue }
                    for pid in ids { bits[Int(pid) >> 6] |= 1 << UInt64(pid & 63) }
                    marked += ids.count
                }
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(min(marked, count))
        bits.withUnsafeBufferPointer { bits in
            for w in 0..<bits.count {
                var word = bits[w]
                while word != 0 {
                    out.append(Int32(w << 6 | word.trailingZeroBitCount))
                    word &= word &- 1
                }
            }
        }
        return CandidateSet(ids: out, lengthPartitions: q > 2 && lcNonEmpty ? low...high : nil)
    }

    /// The ids of `ids` whose length partition is in `partitions` (all of them when `nil`), in order.
    ///
    /// Each candidate's length is read from ``KnowledgeState/summaries`` (32 bytes per pattern, read in
    /// id order: no shape object is loaded; fourteenth pass), and for a kept one the first lines of
    /// its packed buffer and its record, which the scoring reads next, are requested (hints only: the
    /// result is the same ids in the same order).
    func lengthFiltered(_ ids: ArraySlice<Int32>, partitions: ClosedRange<Int>?) -> [Int32] {
        let size = KnowledgeState.partitionSize
        let records = kb.records
        var out: [Int32] = []
        out.reserveCapacity(ids.count)
        kb.summaries.forEachRun(of: ids) { id, summary in
            if let partitions, !partitions.contains(Int(summary.length) / size) { return }
            Self.prefetch(summary.packed, lines: 2)
            records.prefetch(Int(id))
            out.append(id)
        }
        return out
    }

    /// Asks the CPU for the first `lines` cache lines at `address` (a hint: nothing is read, and a
    /// prefetch never faults, so lines past the end of a short buffer are harmless).
    @inline(__always)
    static func prefetch(_ address: UnsafeRawPointer, lines: Int) {
        for k in 0..<lines { kato_prefetch(address + 64 &* k) }
    }
}
