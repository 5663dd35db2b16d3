/// Python `difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()` for symbol ids,
/// with `b` (the STM state) fixed per query and `a` (a pattern) varying.
///
/// `find_longest_match` returns the longest block, ties broken by smallest `i` then smallest `j`
/// (the dynamic programme over `b2j` exactly as difflib runs it, with no junk).
struct BlockMatcher {
    struct Block: Equatable { var a: Int; var b: Int; var size: Int }

    let bLength: Int
    /// One buffer (one uniqueness check per `findLongestMatch`, no array copied per call):
    /// `[positionStarts (slotCount + 1) | positions (bLength) | lenRows | stampRows (2·(bLength + 1) each)]`.
    /// slot → ascending positions in b: `positions[positionStarts[slot]..<positionStarts[slot + 1]]`;
    /// two alternating j2len rows, stamped instead of cleared.
    private var storage: [Int]
    private let positionsAt: Int
    private let lenRowsAt: Int
    private let stampRowsAt: Int
    private var stamp = 0
    /// Pending sub-ranges of the recursion (a struct, not a tuple: tuples go through generic witnesses).
    private struct Span { var alo: Int; var ahi: Int; var blo: Int; var bhi: Int }
    private var queue: [Span] = []
    private var scratch: [Block] = []

    /// - Parameters:
    ///   - bSlots: for each position of b, its dense slot (distinct value index).
    ///   - slotCount: number of distinct values in b.
    init(bSlots: [Int32], slotCount: Int) {
        bLength = bSlots.count
        positionsAt = slotCount + 1
        lenRowsAt = positionsAt + bLength
        stampRowsAt = lenRowsAt + 2 * (bLength + 1)
        var storage = [Int](repeating: 0, count: stampRowsAt + 2 * (bLength + 1))
        // A counting sort of b's positions by slot (ascending within a slot): no array per slot.
        for s in bSlots { storage[Int(s) + 1] += 1 }
        for k in 0..<slotCount { storage[k + 1] += storage[k] }
        var next = Array(storage[0..<slotCount])
        for (j, s) in bSlots.enumerated() {
            storage[positionsAt + next[Int(s)]] = j
            next[Int(s)] += 1
        }
        for x in stampRowsAt..<storage.count { storage[x] = -1 }
        self.storage = storage
    }

    /// The first position in b of the value in `slot`.
    @inline(__always) private func firstPosition(_ slot: Int) -> Int { storage[positionsAt + storage[slot]] }

    /// Matching blocks of `a` (slots of b's values, −1 where absent from b) against b, without the sentinel.
    mutating func matchingBlocks(_ aSlots: UnsafeBufferPointer<Int32>) -> [Block] {
        var out: [Block] = []
        matchingBlocks(aSlots, into: &out)
        return out
    }

    /// Appends the matching blocks (without the sentinel) to `out`; returns how many were appended.
    @discardableResult
    mutating func matchingBlocks(_ aSlots: UnsafeBufferPointer<Int32>, into out: inout [Block]) -> Int {
        var firstMatch = -1
        var matchCount = 0
        for i in 0..<aSlots.count where aSlots[i] >= 0 {
            if matchCount == 0 { firstMatch = i }
            matchCount += 1
            if matchCount > 1 { break }
        }
        return matchingBlocks(aSlots, firstMatch: firstMatch, matchCount: matchCount, into: &out)
    }

    /// ``matchingBlocks(_:into:)`` when the caller already knows the first position of `a` found in b
    /// and how many there are (any number ≥ 2 stands for "more than one").
    @discardableResult
    mutating func matchingBlocks(
        _ aSlots: UnsafeBufferPointer<Int32>, firstMatch: Int, matchCount: Int, into out: inout [Block]
    ) -> Int {
        // Fast paths, exactly what the recursion yields: no element of a in b → no block; exactly one
        // position i of a whose value occurs in b → find_longest_match picks (i, first j of that value, 1)
        // and both sides of it hold no common element.
        if matchCount == 0 { return 0 }
        if matchCount == 1 {
            let slot = Int(aSlots[firstMatch])
            out.append(Block(a: firstMatch, b: firstPosition(slot), size: 1))
            return 1
        }
        // `queue` is empty here (the loop below pops it empty); `scratch` is reused by count
        // (`removeAll(keepingCapacity:)` is a generic call per use).
        var used = 0
        queue.append(Span(alo: 0, ahi: aSlots.count, blo: 0, bhi: bLength))
        while let span = queue.popLast() {
            let m = findLongestMatch(aSlots, span.alo, span.ahi, span.blo, span.bhi)
            if m.size > 0 {
                if used < scratch.count { scratch[used] = m } else { scratch.append(m) }
                used += 1
                if span.alo < m.a && span.blo < m.b { queue.append(Span(alo: span.alo, ahi: m.a, blo: span.blo, bhi: m.b)) }
                if m.a + m.size < span.ahi && m.b + m.size < span.bhi {
                    queue.append(Span(alo: m.a + m.size, ahi: span.ahi, blo: m.b + m.size, bhi: span.bhi))
                }
            }
        }
        // difflib sorts the (i, j, k) triples; blocks never overlap in a, so i alone orders them.
        if used > 1 {
            var x = 1
            while x < used {
                let blk = scratch[x]
                var y = x
                while y > 0 && scratch[y - 1].a > blk.a {
                    scratch[y] = scratch[y - 1]
                    y -= 1
                }
                scratch[y] = blk
                x += 1
            }
        }
        // Collapse adjacent blocks.
        var appended = 0
        var cur = Block(a: 0, b: 0, size: 0)
        for x in 0..<used {
            let blk = scratch[x]
            if cur.a + cur.size == blk.a && cur.b + cur.size == blk.b {
                cur.size += blk.size
            } else {
                if cur.size > 0 { out.append(cur); appended += 1 }
                cur = blk
            }
        }
        if cur.size > 0 { out.append(cur); appended += 1 }
        return appended
    }

    private mutating func findLongestMatch(
        _ a: UnsafeBufferPointer<Int32>, _ alo: Int, _ ahi: Int, _ blo: Int, _ bhi: Int
    ) -> Block {
        var besti = alo, bestj = blo, bestsize = 0
        let width = bLength + 1
        var prevStamp = -2
        var stampCounter = stamp
        let positionsAt = positionsAt, lenRowsAt = lenRowsAt, stampRowsAt = stampRowsAt
        storage.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let starts = base, positions = base + positionsAt
            let lenRows = base + lenRowsAt, stampRows = base + stampRowsAt
            for i in alo..<ahi {
                let slot = Int(a[i])
                stampCounter += 1
                let curStamp = stampCounter
                let row = (i & 1) * width
                let prevRow = width - row
                if slot >= 0 {
                    for p in starts[slot]..<starts[slot + 1] {
                        let j = positions[p]
                        if j < blo { continue }
                        if j >= bhi { break }
                        var k = 1
                        if stampRows[prevRow + j] == prevStamp { k = lenRows[prevRow + j] + 1 }
                        lenRows[row + j + 1] = k
                        stampRows[row + j + 1] = curStamp
                        if k > bestsize {
                            besti = i - k + 1
                            bestj = j - k + 1
                            bestsize = k
                        }
                    }
                }
                prevStamp = curStamp
            }
        }
        stamp = stampCounter
        return Block(a: besti, b: bestj, size: bestsize)
    }
}
