/// Ensemble predictive information (predictive_information.py, kato-semantics §4.7) and ranking.
extension Predictor {
    /// Groups the candidates with a non-empty future by their future (equal up to the order inside
    /// events), sets each candidate's `predictiveInformation` and `potential`, and returns
    /// `future_potentials` sorted by aggregate potential (ties: by the future's JSON text).
    ///
    /// Groups are numbered in order of first appearance (as KATO's dict is); `W` is summed in that
    /// order and each group's weight in candidate order.
    func ensemble(_ found: inout [Candidate]) -> FuturePotentials {
        var totalFrequency = 0
        for c in found { totalFrequency += Int(c.frequency) }
        let F = Double(totalFrequency)

        // One probe per candidate in an open-addressing table keyed by the suffix hash; a hit is
        // verified by content (`sameFuture`), so hash collisions only cost a comparison. The groups are
        // flat records in a buffer sized for the worst case (one group per candidate), filled in place.
        var tableSize = 16
        while tableSize < 2 * found.count { tableSize <<= 1 }
        let mask = tableSize - 1
        var groups = [Group](repeating: Group(), count: found.count)
        var groupCount = 0
        let shapes = kb.shapes
        // The probe table lives only for this loop: a temporary allocation (stack when small), not an
        // array (≈700 instructions of allocation through generic metadata and release).
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: tableSize) { table in
            table.initialize(repeating: -1)
            groups.withUnsafeMutableBufferPointer { groups in
                found.withUnsafeMutableBufferPointer { found in
                    for idx in 0..<found.count {
                        let c = found[idx]
                        if !c.hasFuture { continue }
                        let h = c.futureHash
                        var probe = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
                        var g: Int32 = -1
                        while true {
                            let existing = table[probe]
                            if existing < 0 { break }
                            if groups[Int(existing)].hash == h {
                                let rep = found[Int(groups[Int(existing)].first)]
                                if shapes[Int(c.id)].sameFuture(
                                    from: Int(c.k2), as: shapes[Int(rep.id)], from: Int(rep.k2)) {
                                    g = existing
                                    break
                                }
                            }
                            probe = (probe + 1) & mask
                        }
                        if g < 0 {
                            g = Int32(groupCount)
                            table[probe] = g
                            groups[groupCount] = Group(hash: h, first: Int32(idx), jsonKey: c.futureJSONKey)
                            groupCount += 1
                        }
                        found[idx].group = g
                        groups[Int(g)].weight += Double(c.frequency) * c.similarity
                        groups[Int(g)].count += 1
                    }
                }
            }
        }
        var W = 0.0
        for g in 0..<groupCount { W += groups[g].weight }
        for g in 0..<groupCount { groups[g].aggregate = W == 0 ? 0.0 : groups[g].weight / W }
        guard F > 0 else { return [] }
        for idx in found.indices where found[idx].group >= 0 {
            let c = found[idx]
            let agg = groups[Int(c.group)].aggregate
            let pi = agg == 0 ? 0.0 : (c.similarity * Double(c.frequency) / F) / agg
            found[idx].predictiveInformation = pi
            found[idx].potential = c.similarity * pi
        }

        // Aggregate descending; equal aggregates by the JSON text of the future (distinct per group,
        // so the order is total and does not depend on the sort algorithm). Flat integer keys: the
        // aggregate as an order-preserving integer (descending), then the JSON's first 8 bytes, then
        // the group; only runs with equal aggregate and equal 8-byte key need the texts, compared as
        // streams (``FutureJSONStream``) without building them.
        // The keys as a temporary allocation, not an array (≈650 instructions of allocation through
        // generic metadata and release; twelfth pass).
        return withUnsafeTemporaryAllocation(of: GroupKey.self, capacity: groupCount) { keys in
            for g in 0..<groupCount {
                keys.initializeElement(
                    at: g, to: GroupKey(primary: ~Self.orderKey(groups[g].aggregate), json: groups[g].jsonKey, group: Int32(g)))
            }
            Self.sortKeys(keys)
            // Equal aggregate and 8-byte key: by the whole JSON text.
            var scratch = FutureJSONStream.Scratch()
            Self.orderTieRuns(keys, upTo: keys.count, subject: { key in
                let c = found[Int(groups[Int(key.group)].first)]
                return (kb.shapes[Int(c.id)], Int(c.k2))
            }, precedes: { subject, other in
                let p = found[Int(groups[Int(other.group)].first)]
                return FutureJSONStream.precedes(subject.0, from: subject.1, kb.shapes[Int(p.id)], from: Int(p.k2), scratch: &scratch)
            })
            // Plain records pointing into the knowledge base's chunks, which the list holds (one
            // retain per full chunk, not one per pattern: ``FuturePotentials``; thirteenth pass).
            let shapes = kb.shapes
            let firstPartial = shapes.chunkCount - (shapes.isFull(chunk: shapes.chunkCount - 1) ? 0 : 1)
            @inline(__always) func id(_ key: GroupKey) -> Int { Int(found[Int(groups[Int(key.group)].first)].id) }
            // The full chunks used and the count of futures in the growing one, then each list at its
            // exact size (scratch as a temporary allocation, as above).
            var usedChunks = 0, partial = 0
            let (records, chunks) = withUnsafeTemporaryAllocation(of: Bool.self, capacity: shapes.chunkCount) { used in
                used.initialize(repeating: false)
                let records = [ComputedFuturePotentials.Record](unsafeUninitializedCapacity: keys.count) { out, initialized in
                    for i in 0..<keys.count {
                        let group = groups[Int(keys[i].group)]
                        let c = found[Int(group.first)]
                        let id = Int(c.id), chunk = id &>> ChunkedArray<PatternShape>.shift
                        if chunk >= firstPartial { partial += 1 } else if !used[chunk] { used[chunk] = true; usedChunks += 1 }
                        out.initializeElement(at: i, to: .init(
                            shape: shapes.unretained(id), aggregatePotential: group.aggregate,
                            totalWeightedFrequency: group.weight, start: c.k2, supportingPatterns: Int32(group.count)))
                    }
                    initialized = keys.count
                }
                var chunks: [[PatternShape]] = []
                chunks.reserveCapacity(usedChunks)
                for c in 0..<firstPartial where used[c] { chunks.append(shapes.fullChunk(c)!) }
                return (records, chunks)
            }
            var lastChunk: [PatternShape] = []
            if partial > 0 {
                lastChunk.reserveCapacity(partial)
                for key in keys where id(key) &>> ChunkedArray<PatternShape>.shift >= firstPartial { lastChunk.append(shapes[id(key)]) }
            }
            return FuturePotentials(computed: ComputedFuturePotentials(records: records, chunks: chunks, lastChunk: lastChunk))
        }
    }

    /// One distinct future: its hash, first candidate (the representative), weight `Σ f·s` summed in
    /// candidate order, supporting count, aggregate `weight / W`, and 8-byte JSON key.
    struct Group {
        var hash: UInt64 = 0
        var first: Int32 = 0
        var jsonKey: UInt64 = 0
        var weight = 0.0
        var count = 0
        var aggregate = 0.0
    }

    struct GroupKey { var primary: UInt64; var json: UInt64; var group: Int32 }

    /// An integer that orders like the double `x` (−0 and +0 equal, as `==` has them; no NaN here:
    /// aggregates are quotients of finite non-negative sums).
    @inline(__always)
    static func orderKey(_ x: Double) -> UInt64 {
        let bits = (x == 0 ? 0.0 : x).bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }

    /// Indexes into `found` of the `max_predictions` best: potential descending, then name ascending
    /// (Q13 fix). Names are unique, so this is a total order: sorting up to k (``rankBySort``), or
    /// keeping the best k in a bounded heap and sorting them, gives exactly the first k of the fully
    /// sorted list (which `exhaustive` computes).
    func rank(_ found: [Candidate]) -> [Int] {
        let k = maxPredictions
        if k <= 0 { return [] }
        // Flat records: the name's first 8 bytes decide name ties without touching the patterns.
        struct Ranked { var potential: Double; var nameKey: UInt64; var index: Int32 }
        func better(_ l: Ranked, _ r: Ranked) -> Bool {
            if l.potential != r.potential { return l.potential > r.potential }
            if l.nameKey != r.nameKey { return l.nameKey < r.nameKey }
            return codePointLess(kb.shapes[Int(found[Int(l.index)].id)].name, kb.shapes[Int(found[Int(r.index)].id)].name)
        }
        // (`count − k ≤ k` is `count ≤ 2k` without overflow for any k.)
        // Up to 64k candidates (`sortRankingFactor`; 10,000 patterns: ≈1,450 for 100 kept) the partial sort of them all
        // (``rankBySort``): its partitions do not branch on the keys, while the heap's insertions
        // and sift-downs, frequent until the heap holds good candidates, mispredict — the sort takes
        // ≈4 % off a 10,000-pattern query (for +114k instructions). Beyond (100,000 patterns: ≈14k
        // candidates) most candidates fail the heap's first, well-predicted test, and the heap was
        // as fast or faster (7.40 → 7.45 ms with the sort, twelfth pass). (`count / factor ≤ k`: no overflow.)
        if !exhaustive && found.count / sortRankingFactor <= k { return rankBySort(found, k) }
        if exhaustive {
            var ranked: [Ranked] = []
            ranked.reserveCapacity(found.count)
            for (i, c) in found.enumerated() {
                ranked.append(Ranked(potential: c.potential, nameKey: c.nameKey, index: Int32(i)))
            }
            ranked.sort(by: better)
            if ranked.count > k { ranked.removeLast(ranked.count - k) }
            return ranked.map { Int($0.index) }
        }
        // Max-heap on "worse": the root is the worst of the kept k. A flat buffer with moving holes;
        // a candidate whose potential is below the root's cannot enter (a cheap first test, made on
        // the candidate record itself: no ranked copy of all candidates is built).
        let cap = min(k, found.count)
        var heap = [Ranked](repeating: Ranked(potential: 0, nameKey: 0, index: 0), count: cap)
        var size = 0
        heap.withUnsafeMutableBufferPointer { h in
            /// Fills the hole at the root with `item`, sifting it down among the first `count` slots
            /// (forced inline: as a call it cost ≈12k instructions per 10,000-pattern query).
            @inline(__always) func siftDown(_ item: Ranked, count: Int) {
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    if l >= count { break }
                    var worst = l
                    if r < count && better(h[l], h[r]) { worst = r }
                    if !better(item, h[worst]) { break }
                    h[i] = h[worst]
                    i = worst
                }
                h[i] = item
            }
            for n in found.indices {
                if size == cap && found[n].potential < h[0].potential { continue }
                let item = Ranked(potential: found[n].potential, nameKey: found[n].nameKey, index: Int32(n))
                if size < cap {
                    var i = size
                    size += 1
                    while i > 0 {
                        let parent = (i - 1) >> 1
                        if !better(h[parent], item) { break }
                        h[i] = h[parent]
                        i = parent
                    }
                    h[i] = item
                    continue
                }
                if !better(item, h[0]) { continue }
                siftDown(item, count: size)
            }
            // Heapsort in place: the root (the worst kept) goes to the end, so the buffer ends best
            // first. `better` is a total order, so this is the one sorted order any sort gives (the
            // library's sort through a closure cost ≈450 instructions per kept prediction).
            var end = size - 1
            while end > 0 {
                let item = h[end]
                h[end] = h[0]
                siftDown(item, count: end)
                end -= 1
            }
        }
        return heap.map { Int($0.index) }
    }

    /// ``rank(_:)`` up to `64k` candidates (≈145 for 100 kept at 1,000 patterns, ≈1,450 at 10,000):
    /// all candidates as flat integer keys — the potential as an order-preserving integer
    /// (descending; −0 and +0 equal, as `!=` has them in `rank`), the name's first 8 bytes, the
    /// index — sorted up to k by ``sortKeys(_:upTo:)`` (the first k and the rest of the k-th's tie
    /// run; the comparison sort, never the radix one), then the runs of equal potential and equal
    /// 8-byte name key ordered by the whole name. That is the same total order as `rank`'s `better`
    /// (names are unique), so the first k are the same k in the same order; comparing integers in one
    /// specialised sort costs less than the heap's comparisons through `better` (≈35k instructions).
    private func rankBySort(_ found: [Candidate], _ k: Int) -> [Int] {
        withUnsafeTemporaryAllocation(of: GroupKey.self, capacity: found.count) { keys in
            for (i, c) in found.enumerated() {
                keys.initializeElement(
                    at: i, to: GroupKey(primary: ~Self.orderKey(c.potential), json: c.nameKey, group: Int32(i)))
            }
            let kept = min(k, found.count)
            Self.sortKeys(keys, upTo: kept)
            @inline(__always) func name(_ key: GroupKey) -> String { kb.shapes[Int(found[Int(key.group)].id)].name }
            Self.orderTieRuns(keys, upTo: kept, subject: name, precedes: { keyName, other in codePointLess(keyName, name(other)) })
            return [Int](unsafeUninitializedCapacity: kept) { out, initialized in
                for i in 0..<kept { out.initializeElement(at: i, to: Int(keys[i].group)) }
                initialized = kept
            }
        }
    }

    /// Orders each run of sorted keys with equal `primary` and `json` (the 8-byte key) by `precedes`,
    /// the runs that start before `limit`: an insertion sort (runs are short). `precedes(subject(x), y)`
    /// says whether x goes before y; the subject (the text being moved) is looked up once per key.
    /// The future potentials' JSON texts and the ranking's names share it.
    @inline(__always)
    static func orderTieRuns<Subject>(
        _ keys: UnsafeMutableBufferPointer<GroupKey>, upTo limit: Int, subject: (GroupKey) -> Subject,
        precedes: (Subject, GroupKey) -> Bool
    ) {
        var runStart = 0
        while runStart < limit {
            var runEnd = runStart + 1
            while runEnd < keys.count && keys[runEnd].primary == keys[runStart].primary
                && keys[runEnd].json == keys[runStart].json { runEnd += 1 }
            if runEnd - runStart > 1 {
                var x = runStart + 1
                while x < runEnd {
                    let key = keys[x]
                    let s = subject(key)
                    var y = x
                    while y > runStart && precedes(s, keys[y - 1]) {
                        keys[y] = keys[y - 1]
                        y -= 1
                    }
                    keys[y] = key
                    x += 1
                }
            }
            runStart = runEnd
        }
    }
}
