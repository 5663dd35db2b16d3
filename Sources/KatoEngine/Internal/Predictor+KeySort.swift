/// The sort of ``Predictor/GroupKey``s: `future_potentials` (≈1,065 keys per 10,000-pattern query)
/// and the ranking of up to `2k` candidates (Predictor+Ensemble.swift).
extension Predictor {
    /// The order of the keys: `primary`, then `json`, then `group` (distinct per key, so the order is
    /// total and every correct sort gives the same result).
    @inline(__always)
    static func less(_ l: GroupKey, _ r: GroupKey) -> Bool {
        if l.primary != r.primary { return l.primary < r.primary }
        if l.json != r.json { return l.json < r.json }
        return l.group < r.group
    }

    /// Sorts keys that are all distinct (`group`) by ``less(_:_:)``: above 256 keys by packed integer
    /// keys (``packedSortKeys(_:)``) when they fit, else (and below) by comparisons. The radix path
    /// runs more instructions than the quicksort but no data-dependent branches: at 10,000 patterns
    /// (≈1,065 future keys) the quicksort's mispredictions made it ≈10 % of a query's CPU time for
    /// ≈6 % of its instructions, and the radix path takes ≈8 % off the query's CPU time; at 1,000
    /// patterns (≈106 future keys, ≈145 ranked candidates) its fixed costs (256-entry tables) made
    /// the query slower (0.053 → 0.055 ms), hence the threshold.
    static func sortKeys(_ a: UnsafeMutableBufferPointer<GroupKey>) {
        if a.count > 256 && packedSortKeys(a) { return }
        comparisonSortKeys(a, upTo: a.count)
    }

    /// The first `limit` keys of ``sortKeys(_:)``'s order in place, followed by the other keys whose
    /// `primary` and `json` equal those of key `limit − 1` (the rest of its tie run, which the ranking
    /// orders by name to decide which of them is kept); the keys after those in no particular order.
    /// The ranking keeps 100 of ≈145 candidates at 1,000 patterns, of ≈1,450 at 10,000: the ranges
    /// wholly past `limit` are not sorted (a quickselect that sorts what it keeps). Below `count`, the
    /// comparison sort at any size: the radix path sorts everything.
    static func sortKeys(_ a: UnsafeMutableBufferPointer<GroupKey>, upTo limit: Int) {
        if limit >= a.count && a.count > 256 && packedSortKeys(a) { return }
        comparisonSortKeys(a, upTo: limit)
        // Every key past `limit` is above key `limit − 1`; those equal to it in `primary` and `json`
        // follow it in the full order, so they are the tie run's rest: gathered right after it (in
        // the order found — the ranking orders the run by name anyway).
        guard limit > 0 && limit < a.count else { return }
        let last = a[limit - 1]
        var w = limit
        for i in limit..<a.count where a[i].primary == last.primary && a[i].json == last.json {
            a.swapAt(w, i)
            w += 1
        }
    }

    /// A radix sort of one 64-bit integer per key that orders as `(primary, json)`: the rank of the
    /// key's `primary` among the distinct `primary`s (found by hashing, sorted by comparisons: few —
    /// ≈100 distinct aggregates among ≈1,065 futures at 10,000 patterns), above the low bits of `json`
    /// in which the keys differ (the bits above those are common to all keys, so the low ones order
    /// the `json`s). Least-significant byte first, each pass a stable counting sort (a byte equal in
    /// every key is skipped); the keys come in ascending `group` (checked) and stay so among equal
    /// integers. So the result is ordered by `primary`, `json`, `group`: the one order of
    /// ``less(_:_:)``. Returns `false`, leaving `a` as it was, when the keys are not in ascending
    /// `group`, when more than half the `primary`s are distinct (the ranks would save little), or when
    /// rank and `json` bits together exceed 64.
    static func packedSortKeys(_ a: UnsafeMutableBufferPointer<GroupKey>) -> Bool {
        let n = a.count
        var jsonVarying: UInt64 = 0
        let firstJSON = a[0].json
        for i in 1..<n {
            if a[i].group <= a[i - 1].group { return false }
            jsonVarying |= a[i].json ^ firstJSON
        }
        let jsonBits = UInt64.bitWidth - jsonVarying.leadingZeroBitCount
        var tableSize = 256
        while tableSize < 2 * n { tableSize <<= 1 }
        let tableShift = UInt64(UInt64.bitWidth - tableSize.trailingZeroBitCount)
        // Int32 scratch: the hash table, each key's distinct index, each distinct value's rank, two
        // position buffers, 8 × 256 byte counters. UInt64 scratch: two integer-key buffers.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: tableSize + 4 * n + 8 * 256) { ints in
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * n) { words in
        withUnsafeTemporaryAllocation(of: GroupKey.self, capacity: n) { keys in
            let table = ints.baseAddress!, valueOf = table + tableSize, rankOf = valueOf + n
            var pos = rankOf + n, pos2 = pos + n
            let counts = pos2 + n
            var key = words.baseAddress!, key2 = key + n
            table.initialize(repeating: -1, count: tableSize)
            // The distinct primaries, as keys (primary, 0, distinct index) in `keys`.
            var distinct = 0
            for i in 0..<n {
                let primary = a[i].primary
                var probe = Int(truncatingIfNeeded: (primary &* 0x9e37_79b9_7f4a_7c15) >> tableShift)
                while true {
                    let v = table[probe]
                    if v < 0 {
                        table[probe] = Int32(distinct)
                        keys[distinct] = GroupKey(primary: primary, json: 0, group: Int32(distinct))
                        valueOf[i] = Int32(distinct)
                        distinct += 1
                        break
                    }
                    if keys[Int(v)].primary == primary { valueOf[i] = v; break }
                    probe = (probe + 1) & (tableSize - 1)
                }
                if 2 * distinct > n { return false }
            }
            let rankBits = UInt64.bitWidth - UInt64(distinct - 1).leadingZeroBitCount
            if rankBits + jsonBits > UInt64.bitWidth { return false }
            comparisonSortKeys(UnsafeMutableBufferPointer(rebasing: keys[0..<distinct]), upTo: distinct)
            for r in 0..<distinct { rankOf[Int(keys[r].group)] = Int32(r) }
            // The integer keys and every pass's byte counts in one sweep.
            let passes = (rankBits + jsonBits + 7) / 8
            counts.initialize(repeating: 0, count: 256 * passes)
            let jsonMask: UInt64 = jsonBits == 0 ? 0 : ~0 >> UInt64(UInt64.bitWidth - jsonBits)
            let rankShift = UInt64(jsonBits & 63)  // (rank is 0 when `jsonBits` is 64)
            for i in 0..<n {
                let k = UInt64(rankOf[Int(valueOf[i])]) << rankShift | (a[i].json & jsonMask)
                key[i] = k
                pos[i] = Int32(i)
                for p in 0..<passes { counts[256 * p + Int((k >> UInt64(8 * p)) & 255)] += 1 }
            }
            for p in 0..<passes {
                let c = counts + 256 * p
                let shift = UInt64(8 * p)
                if c[Int(key[0] >> shift & 255)] == Int32(n) { continue }  // one byte value: order kept
                var sum: Int32 = 0
                for d in 0..<256 {
                    let x = c[d]
                    c[d] = sum
                    sum += x
                }
                for i in 0..<n {
                    let d = Int((key[i] >> shift) & 255)
                    let at = Int(c[d])
                    c[d] = Int32(at + 1)
                    key2[at] = key[i]
                    pos2[at] = pos[i]
                }
                swap(&key, &key2)
                swap(&pos, &pos2)
            }
            for i in 0..<n { keys[i] = a[Int(pos[i])] }
            for i in 0..<n { a[i] = keys[i] }
            return true
        }
        }
        }
    }

    /// ``less(_:_:)`` as 1 or 0, without a branch: (`primary`, `json`) as one 128-bit integer, then
    /// `group` (integer `&` and `|`: `||` and `&&` were compiled to branches).
    @inline(__always)
    static func lessWithoutBranch(_ l: GroupKey, _ r: GroupKey) -> Int {
        let lk = UInt128(l.primary) << 64 | UInt128(l.json), rk = UInt128(r.primary) << 64 | UInt128(r.json)
        let below = lk < rk ? 1 : 0, same = lk == rk ? 1 : 0, groupBelow = l.group < r.group ? 1 : 0
        return below | (same & groupBelow)
    }

    /// Quicksort by ``less(_:_:)`` (median of three) with a branch-free partition, insertion sort
    /// below 12. The keys come in no useful order (futures by first appearance, candidates by id), so
    /// a partition that branches on each comparison mispredicts about half of them: at 1,000 patterns
    /// (≈106 future keys, ≈145 ranked candidates) the Hoare quicksort that was here was ≈14 % of a
    /// query's CPU time (perf). Here each key of a range is written to both ends of a scratch range
    /// and the end it belongs to advances by the comparison's 0 or 1 (no branch depends on the data
    /// but the insertion sort's: one misprediction per key); the range is then copied back. Out of
    /// place on purpose: partitioning in place (Lomuto) re-reads a key the previous step has just
    /// written field by field, as one 16-byte load — a failed store forwarding per key, which made it
    /// no faster than the branches.
    /// Ranges that start at or past `limit` are left unsorted (each key in them is above every key
    /// before them); `limit` = `count` sorts everything.
    static func comparisonSortKeys(_ a: UnsafeMutableBufferPointer<GroupKey>, upTo limit: Int) {
        if a.count < 2 { return }
        // The larger side is pushed and the smaller looped on, so at most log2(count) < 64 ranges wait:
        // a fixed temporary stack, not an array.
        withUnsafeTemporaryAllocation(of: GroupKey.self, capacity: a.count) { scratch in
        withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: 64) { stack in
        let n = a.count, a = a.baseAddress!, scratch = scratch.baseAddress!
        var depth = 1
        stack[0] = (0, n - 1)
        while depth > 0 {
            depth -= 1
            let (lo0, hi0) = stack[depth]
            var lo = lo0, hi = hi0
            while hi - lo >= 20 {
                let mid = lo + (hi - lo) / 2
                if less(a[mid], a[lo]) { swap(&a[mid], &a[lo]) }
                if less(a[hi], a[lo]) { swap(&a[hi], &a[lo]) }
                if less(a[hi], a[mid]) { swap(&a[hi], &a[mid]) }
                let pivot = a[mid]
                a[mid] = a[lo]
                // Below the pivot from `lo` up, above it from `hi` down (the keys are distinct).
                var left = lo, right = hi
                var i = lo + 1
                while i <= hi {
                    let t = a[i]
                    let below = lessWithoutBranch(t, pivot)
                    (scratch + left).initialize(to: t)
                    (scratch + right).initialize(to: t)
                    left &+= below
                    right &-= 1 &- below
                    i &+= 1
                }
                let p = left  // == right
                (scratch + p).initialize(to: pivot)
                (a + lo).update(from: scratch + lo, count: hi - lo + 1)
                // Push the larger side, loop on the smaller: the stack stays O(log n). A right side
                // wholly past `limit` is dropped.
                if p + 1 >= limit {
                    hi = p - 1
                } else if p - lo < hi - p {
                    if p + 1 < hi { stack[depth] = (p + 1, hi); depth += 1 }
                    hi = p - 1
                } else {
                    if lo < p - 1 { stack[depth] = (lo, p - 1); depth += 1 }
                    lo = p + 1
                }
            }
            if lo < hi {
                var x = lo + 1
                while x <= hi {
                    let v = a[x]
                    var y = x
                    while y > lo && less(v, a[y - 1]) { a[y] = a[y - 1]; y -= 1 }
                    a[y] = v
                    x += 1
                }
            }
        }
        }
        }
    }
}
