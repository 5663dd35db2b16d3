/// Python `difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()` for symbol ids,
/// with `b` (the STM state) fixed per query and `a` (a pattern) varying.
///
/// `find_longest_match` returns the longest block, ties broken by smallest `i` then smallest `j`
/// (the dynamic programme over `b2j` exactly as difflib runs it, with no junk).
struct BlockMatcher {
    struct Block: Equatable { var a: Int; var b: Int; var size: Int }

    let bLength: Int
    /// slot → ascending positions in b.
    private let positions: [[Int]]
    /// Row storage for the j2len dictionaries (two alternating rows, stamped instead of cleared).
    private var lenRows: [[Int]]
    private var stampRows: [[Int]]
    private var stamp = 0

    /// - Parameters:
    ///   - bSlots: for each position of b, its dense slot (distinct value index).
    ///   - slotCount: number of distinct values in b.
    init(bSlots: [Int32], slotCount: Int) {
        bLength = bSlots.count
        var pos = [[Int]](repeating: [], count: slotCount)
        for (j, s) in bSlots.enumerated() { pos[Int(s)].append(j) }
        positions = pos
        lenRows = [[Int]](repeating: [Int](repeating: 0, count: bSlots.count + 1), count: 2)
        stampRows = [[Int]](repeating: [Int](repeating: -1, count: bSlots.count + 1), count: 2)
    }

    /// Matching blocks of `a` (given as slots of b's values, −1 where absent from b) against b,
    /// without the terminating sentinel.
    mutating func matchingBlocks(_ aSlots: UnsafeBufferPointer<Int32>) -> [Block] {
        var queue: [(Int, Int, Int, Int)] = [(0, aSlots.count, 0, bLength)]
        var blocks: [Block] = []
        while let (alo, ahi, blo, bhi) = queue.popLast() {
            let m = findLongestMatch(aSlots, alo, ahi, blo, bhi)
            if m.size > 0 {
                blocks.append(m)
                if alo < m.a && blo < m.b { queue.append((alo, m.a, blo, m.b)) }
                if m.a + m.size < ahi && m.b + m.size < bhi { queue.append((m.a + m.size, ahi, m.b + m.size, bhi)) }
            }
        }
        if blocks.count > 1 {
            blocks.sort { ($0.a, $0.b, $0.size) < ($1.a, $1.b, $1.size) }
        }
        // Collapse adjacent blocks.
        var merged: [Block] = []
        var cur = Block(a: 0, b: 0, size: 0)
        for blk in blocks {
            if cur.a + cur.size == blk.a && cur.b + cur.size == blk.b {
                cur.size += blk.size
            } else {
                if cur.size > 0 { merged.append(cur) }
                cur = blk
            }
        }
        if cur.size > 0 { merged.append(cur) }
        return merged
    }

    private mutating func findLongestMatch(
        _ a: UnsafeBufferPointer<Int32>, _ alo: Int, _ ahi: Int, _ blo: Int, _ bhi: Int
    ) -> Block {
        var besti = alo, bestj = blo, bestsize = 0
        // j2len for row i lives in lenRows[i & 1] at index j + 1, valid when stampRows matches.
        var prevStamp = -2  // no previous row yet
        for i in alo..<ahi {
            let slot = a[i]
            stamp += 1
            let curStamp = stamp
            let row = i & 1
            let prevRow = row ^ 1
            if slot >= 0 {
                for j in positions[Int(slot)] {
                    if j < blo { continue }
                    if j >= bhi { break }
                    var k = 1
                    if j > 0 && stampRows[prevRow][j] == prevStamp { k = lenRows[prevRow][j] + 1 }
                    lenRows[row][j + 1] = k
                    stampRows[row][j + 1] = curStamp
                    if k > bestsize {
                        besti = i - k + 1
                        bestj = j - k + 1
                        bestsize = k
                    }
                }
            }
            prevStamp = curStamp
        }
        return Block(a: besti, b: bestj, size: bestsize)
    }
}
