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
        get { chunks[i &>> Self.shift][i & Self.mask] }
        _modify { yield &chunks[i &>> Self.shift][i & Self.mask] }
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
}

extension ChunkedArray: Sendable where Element: Sendable {}
