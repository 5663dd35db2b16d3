import CKatoSIMD

/// An array whose copies share their storage chunk by chunk (256 elements a chunk). Predictions
/// run on a copy of the knowledge base's state (`KnowledgeBase.view()`), so a learn made while one
/// runs writes to shared storage: with plain arrays it copied every pattern's shape and record
/// (100,000 retains and as many releases, each a cache miss — ≈15 ms a learn at 100,000 patterns,
/// measured with `make bench-learns`). Here the learn copies the list of chunks (N/256 references)
/// and the one chunk it writes. Reading an element costs one more indexed load than an array.
struct ChunkedArray<Element>: RandomAccessCollection, MutableCollection {
    static var shift: Int { 8 }
    static var mask: Int { (1 << shift) - 1 }

    private var chunks: [[Element]] = []
    private(set) var count = 0

    init() {}

    init<S: Sequence>(_ elements: S) where S.Element == Element {
        append(contentsOf: elements)
    }

    init(repeating element: Element, count: Int) {
        self.init(repeatElement(element, count: count))
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    var indices: Range<Int> { 0..<count }
    var isEmpty: Bool { count == 0 }
    func index(after i: Int) -> Int { i + 1 }
    func index(before i: Int) -> Int { i - 1 }

    subscript(i: Int) -> Element {
        // `_read`, not `get`: `records[i].frequency` borrows the element in place instead of copying
        // the whole record (and retaining its arrays) to read one field.
        _read { yield chunks[i &>> Self.shift][i & Self.mask] }
        _modify { yield &chunks[i &>> Self.shift][i & Self.mask] }
    }

    /// Calls `body` with each index of `ids`, in order, and its element, read from the chunk's
    /// storage: a run of indices in one chunk looks the chunk up once, so the per-element path is one
    /// indexed load (no chunk-list lookup, no retain of the chunk). Any order is correct; ascending
    /// ids (the candidates) make the runs long.
    @inline(__always)
    func forEachRun(of ids: ArraySlice<Int32>, _ body: (Int32, Element) throws -> Void) rethrows {
        var i = ids.startIndex
        while i < ids.endIndex {
            let c = Int(ids[i]) &>> Self.shift
            try chunks[c].withUnsafeBufferPointer { chunk in
                repeat {
                    let id = ids[i]
                    try body(id, chunk[Int(id) & Self.mask])
                    i += 1
                } while i < ids.endIndex && Int(ids[i]) &>> Self.shift == c
            }
        }
    }

    /// Calls `body` with each position `x` of `ids` and the storage of the chunk holding `ids[x]`
    /// (element `Int(ids[x]) & mask`), one chunk lookup per run: a field is then read in place
    /// (`chunk[…].frequency`), without copying the element (nor retaining what it holds).
    @inline(__always)
    func forEachRunInPlace(of ids: UnsafeBufferPointer<Int32>, _ body: (Int, UnsafeBufferPointer<Element>) throws -> Void) rethrows {
        var x = 0
        while x < ids.count {
            let c = Int(ids[x]) &>> Self.shift
            try chunks[c].withUnsafeBufferPointer { chunk in
                repeat {
                    try body(x, chunk)
                    x += 1
                } while x < ids.count && Int(ids[x]) &>> Self.shift == c
            }
        }
    }

    mutating func append(_ element: Element) {
        if count & Self.mask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.mask + 1)
            chunk.append(element)
            chunks.append(chunk)
        } else {
            chunks[chunks.count - 1].append(element)
        }
        count += 1
    }

    mutating func append<S: Sequence>(contentsOf elements: S) where S.Element == Element {
        for e in elements { append(e) }
    }

    /// Room for `n` elements in all (only the list of chunks: chunks are allocated full size).
    mutating func reserveCapacity(_ n: Int) {
        chunks.reserveCapacity((n + Self.mask) >> Self.shift)
    }

    /// Asks the CPU for element `i`'s memory (a hint: nothing changes). The chunk's address is read as
    /// the plain pointer an array is, and its elements start 32 bytes in (the array header): no retain
    /// of the chunk and no read of its header, either of which would wait for the line being asked for.
    /// (A wrong address would only make the hint useless: a prefetch never faults.)
    func prefetch(_ i: Int) {
        chunks.withUnsafeBufferPointer { list in
            let c = i &>> Self.shift
            guard c >= 0 && c < list.count, let base = list.baseAddress else { return }
            let chunk = UnsafeRawPointer(base).load(fromByteOffset: c &* MemoryLayout<[Element]>.stride, as: UnsafeRawPointer.self)
            kato_prefetch(chunk + 32 + (i & Self.mask) &* MemoryLayout<Element>.stride)
        }
    }

    /// Asks the CPU for the memory of the elements at `ids`, one chunk lookup per run (a hint).
    func prefetch(_ ids: some Collection<Int32>) {
        var i = ids.startIndex
        while i < ids.endIndex {
            let c = Int(ids[i]) &>> Self.shift
            chunks[c].withUnsafeBufferPointer { chunk in
                let base = chunk.baseAddress!
                repeat {
                    kato_prefetch(base + (Int(ids[i]) & Self.mask))
                    ids.formIndex(after: &i)
                } while i < ids.endIndex && Int(ids[i]) &>> Self.shift == c
            }
        }
    }
}

extension ChunkedArray: Sendable where Element: Sendable {}

extension ChunkedArray {
    /// Number of chunks (`ceil(count / 256)`).
    var chunkCount: Int { chunks.count }

    /// Chunk `c`'s storage when it is full (`nil` for the last chunk while appends still write to
    /// it): holding it costs one retain and makes no later append copy it.
    func fullChunk(_ c: Int) -> [Element]? {
        isFull(chunk: c) ? chunks[c] : nil
    }

    @inline(__always) func isFull(chunk c: Int) -> Bool { (c &+ 1) &<< Self.shift <= count }
}

extension ChunkedArray where Element: AnyObject {
    /// Element `i`, not retained (the caller holds this array, or the chunk, while it uses it).
    @inline(__always)
    func unretained(_ i: Int) -> Unmanaged<Element> {
        chunks[i &>> Self.shift].withUnsafeBufferPointer { chunk in
            chunk.withMemoryRebound(to: Unmanaged<Element>.self) { $0[i & Self.mask] }
        }
    }
}
