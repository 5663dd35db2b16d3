import CKatoSIMD

/// The candidate filter (KATO's IndexManager, Q11) and the order in which candidates are scored.
extension Predictor {
    /// Positions `0..<lengths.count` ordered by `lengths` (stable counting sort; lengths ≤ `longest`).
    static func positionsByLength(_ lengths: [Int32], longest: Int) -> [Int32] {
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

    /// Candidate ids (ascending) from the length partitions (LC) and the inverted index over
    /// `state[:10]` (SC), exactly IndexManager.search_candidates: `LC ∪ SC` for q ≤ 2, else `LC ∩ SC`
    /// if LC is non-empty, else `SC`. Only the postings of the state's symbols are walked (plus the
    /// partitions themselves for q ≤ 2, where LC is part of the answer); LC membership of an SC
    /// candidate is its length's partition, so the intersection costs nothing per pattern not in SC.
    func candidates(q: Int, stateIds: [Int32]) -> [Int32] {
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
        let needLength = q > 2 && lcNonEmpty
        var out: [Int32] = []
        out.reserveCapacity(min(marked, count))
        for w in 0..<bits.count {
            var word = bits[w]
            while word != 0 {
                out.append(Int32(w << 6 | word.trailingZeroBitCount))
                word &= word &- 1
            }
        }
        guard needLength else { return out }
        // LC membership is the length's partition: each candidate's shape is read here for the first
        // time (a cache miss per candidate in a large knowledge base), so the shapes 16 ahead are
        // requested while this one is tested (a hint: the result is the same ids in the same order).
        var kept = 0
        do {
            let shapes = kb.shapes
            out.withUnsafeMutableBufferPointer { ids in
                for i in 0..<ids.count {
                    if i + 16 < ids.count {
                        let ahead = Unmanaged.passUnretained(shapes[Int(ids[i + 16])]).toOpaque()
                        kato_prefetch(ahead)
                        kato_prefetch(ahead + 64)
                    }
                    let p = shapes[Int(ids[i])].length / size
                    if p < low || p > high { continue }
                    ids[kept] = ids[i]
                    kept += 1
                }
            }
        }
        out.removeLast(out.count - kept)
        return out
    }
}
