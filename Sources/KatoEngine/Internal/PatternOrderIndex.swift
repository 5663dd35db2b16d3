/// One browsing order of a knowledge base's live patterns, kept sorted as patterns are learned,
/// re-learned and deleted, so that a page is a seek (O(log N)) and a walk of the page — no pass
/// over the knowledge base per page (``KnowledgeBase/patterns(order:symbol:namePrefix:after:limit:)``).
///
/// The entries are in blocks of at most ``maxBlock`` (a sorted list of sorted blocks): an insert
/// or removal moves at most one block's entries, and a copy-on-write copy made because a reader
/// holds the state copies the block list and the one block written, not N entries.
///
/// Order: `primary` ascending (minus the frequency or the length, 0 for the name order), then the
/// name as `String` compares it, then the id — the order of the full-scan path exactly. The name's
/// first 8 bytes (`PatternShape.nameKey`) decide most name comparisons without reading the name;
/// that shortcut is taken only when both names are ASCII (there byte order is `String` order).
struct PatternOrderIndex: Sendable {
    struct Entry: Sendable {
        var primary: Int64
        var nameKey: UInt64
        var id: Int32
        var ascii: Bool
    }

    /// Sorted blocks, none empty.
    private(set) var blocks: [[Entry]] = []
    private(set) var count = 0

    static let maxBlock = 512

    /// Whether `a` sorts before `b`; `name(e)` is an entry's name (read only when the keys tie).
    @inline(__always)
    static func precedes(_ a: Entry, _ b: Entry, _ name: (Entry) -> String) -> Bool {
        if a.primary != b.primary { return a.primary < b.primary }
        if a.ascii && b.ascii && a.nameKey != b.nameKey { return a.nameKey < b.nameKey }
        if a.id == b.id { return false }
        let na = name(a), nb = name(b)
        if na != nb { return na < nb }
        return a.id < b.id
    }

    /// The first position whose entry is not `before` (`before` must hold for a prefix of the
    /// order and not after it): (block, index), `(blocks.count, 0)` when every entry is before.
    func partition(_ before: (Entry) -> Bool) -> (block: Int, index: Int) {
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if before(blocks[mid][blocks[mid].count - 1]) { lo = mid + 1 } else { hi = mid }
        }
        guard lo < blocks.count else { return (blocks.count, 0) }
        let block = blocks[lo]
        var i = 0, j = block.count
        while i < j {
            let mid = (i + j) / 2
            if before(block[mid]) { i = mid + 1 } else { j = mid }
        }
        return (lo, i)
    }

    /// Number of entries before a position.
    func rank(_ position: (block: Int, index: Int)) -> Int {
        var n = position.index
        for b in 0..<position.block { n += blocks[b].count }
        return n
    }

    mutating func insert(_ e: Entry, _ name: (Entry) -> String) {
        count += 1
        guard !blocks.isEmpty else {
            blocks = [[e]]
            return
        }
        var (b, i) = partition { Self.precedes($0, e, name) }
        if b == blocks.count {
            b -= 1
            i = blocks[b].count
        }
        blocks[b].insert(e, at: i)
        if blocks[b].count > Self.maxBlock {
            let half = blocks[b].count / 2
            let tail = Array(blocks[b][half...])
            blocks[b].removeSubrange(half...)
            blocks.insert(tail, at: b + 1)
        }
    }

    /// Removes `e` (the entry as it was inserted: its key then).
    mutating func remove(_ e: Entry, _ name: (Entry) -> String) {
        let (b, i) = partition { Self.precedes($0, e, name) }
        if b < blocks.count, i < blocks[b].count, blocks[b][i].id == e.id {
            removeAt(b, i)
            return
        }
        // Not where its key says (never expected): still exact, by id.
        for (b, block) in blocks.enumerated() {
            if let i = block.firstIndex(where: { $0.id == e.id }) {
                removeAt(b, i)
                return
            }
        }
    }

    private mutating func removeAt(_ b: Int, _ i: Int) {
        count -= 1
        blocks[b].remove(at: i)
        if blocks[b].isEmpty { blocks.remove(at: b) }
    }

    /// Builds the index of `entries` in one sort.
    init(sorting entries: [Entry], _ name: (Entry) -> String) {
        let sorted = entries.sorted { Self.precedes($0, $1, name) }
        count = sorted.count
        let size = Self.maxBlock * 3 / 4  // room for inserts before the first split
        var start = 0
        blocks.reserveCapacity((sorted.count + size - 1) / size)
        while start < sorted.count {
            let end = min(start + size, sorted.count)
            blocks.append(Array(sorted[start..<end]))
            start = end
        }
    }

    init() {}

    /// The entries from `position` on, in order, while `body` returns true.
    func walk(from position: (block: Int, index: Int), _ body: (Entry) -> Bool) {
        var b = position.block, i = position.index
        while b < blocks.count {
            let block = blocks[b]
            while i < block.count {
                if !body(block[i]) { return }
                i += 1
            }
            b += 1
            i = 0
        }
    }
}
