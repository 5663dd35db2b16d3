/// `future_potentials` of one computation (kato-semantics §4.7): a collection of ``FuturePotential``
/// values built on access (issue 15, thirteenth pass).
///
/// A computed list is one array of plain records and the knowledge base's storage that holds their
/// patterns: the full 256-pattern chunks they point into (one retain each: ≈40 at 10,000 patterns)
/// and the few patterns of the last, still growing chunk (held one by one, so that the next learn's
/// append does not copy that chunk). An array of values held one pattern each: ≈1,065 retains per
/// 10,000-pattern query and as many releases when the next one replaces it, each an atomic operation
/// on a cold line. A value read out (`self[i]`) holds its own pattern, so it may outlive the list.
public struct FuturePotentials: RandomAccessCollection, Sendable, Hashable, ExpressibleByArrayLiteral {
    private enum Storage: Sendable {
        case computed(ComputedFuturePotentials)
        case explicit([FuturePotential])
    }
    private let storage: Storage

    public init(_ values: [FuturePotential]) { storage = .explicit(values) }
    public init(arrayLiteral values: FuturePotential...) { storage = .explicit(values) }
    init(computed: ComputedFuturePotentials) { storage = .computed(computed) }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .computed(let c): return c.records.count
        case .explicit(let list): return list.count
        }
    }
    public func index(after i: Int) -> Int { i + 1 }
    public func index(before i: Int) -> Int { i - 1 }

    public subscript(i: Int) -> FuturePotential {
        switch storage {
        case .computed(let c):
            let r = c.records[i]
            return FuturePotential(
                shape: r.shape.takeUnretainedValue(), start: Int(r.start), aggregatePotential: r.aggregatePotential,
                supportingPatterns: Int(r.supportingPatterns), totalWeightedFrequency: r.totalWeightedFrequency)
        case .explicit(let list): return list[i]
        }
    }

    public static func == (l: FuturePotentials, r: FuturePotentials) -> Bool { l.elementsEqual(r) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for f in self { hasher.combine(f) }
    }

    /// Calls `body` with a reader of this list's records in place (the encoders': no value built,
    /// nothing retained per element — reading through the list itself retained its storage on
    /// every access). The reader is valid only inside `body`.
    @inline(__always)
    public func withReader<R>(_ body: (FuturePotentialReader) throws -> R) rethrows -> R {
        switch storage {
        case .computed(let c): return try c.records.withUnsafeBufferPointer { try body(FuturePotentialReader(source: .records($0))) }
        case .explicit(let list): return try list.withUnsafeBufferPointer { try body(FuturePotentialReader(source: .values($0))) }
        }
    }

    /// `self[i]`'s numbers (``FuturePotentialReader/numbers(at:)``).
    public func numbers(at i: Int) -> (aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        withReader { $0.numbers(at: i) }
    }

    /// `self[i].futureWireBytes` without building the value: valid while this list lives.
    public func futureWireBytes(at i: Int) -> UnsafeRawBufferPointer? { withReader { $0.futureWireBytes(at: i) } }

    /// ``FuturePotentialReader/prefetchFuturePattern(at:)``.
    public func prefetchFuturePattern(at i: Int) { withReader { $0.prefetchFuturePattern(at: i) } }

    /// ``FuturePotentialReader/prefetchFutureWire(at:)``.
    public func prefetchFutureWire(at i: Int) { withReader { $0.prefetchFutureWire(at: i) } }
}

/// A ``FuturePotentials`` list read in place (``FuturePotentials/withReader(_:)``).
public struct FuturePotentialReader {
    fileprivate enum Source {
        case records(UnsafeBufferPointer<ComputedFuturePotentials.Record>)
        case values(UnsafeBufferPointer<FuturePotential>)
    }
    fileprivate let source: Source

    public var count: Int {
        switch source {
        case .records(let r): return r.count
        case .values(let v): return v.count
        }
    }

    /// Element `i`'s numbers (loads: no value built, nothing retained).
    @inline(__always)
    public func numbers(at i: Int) -> (aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        switch source {
        case .records(let r): return (r[i].aggregatePotential, Int(r[i].supportingPatterns), r[i].totalWeightedFrequency)
        case .values(let v): return (v[i].aggregatePotential, v[i].supportingPatterns, v[i].totalWeightedFrequency)
        }
    }

    /// Element `i`'s future as protobuf bytes (``FuturePotential/futureWireBytes``), in the
    /// pattern's storage: valid while the list lives. `nil` for an explicit future.
    @inline(__always)
    public func futureWireBytes(at i: Int) -> UnsafeRawBufferPointer? {
        switch source {
        case .records(let r): return r[i].shape._withUnsafeGuaranteedRef { $0.wireRun(Int(r[i].start), $0.eventCount) }
        case .values(let v): return v[i].futureWireBytes
        }
    }

    /// Calls `body` for each event of element `i`'s future (``FuturePotential/forEachFutureEvent(_:)``).
    public func forEachFutureEvent(at i: Int, _ body: (_ event: Int, _ symbols: Span<String>) throws -> Void) rethrows {
        switch source {
        case .records(let r):
            try FuturePotential(shape: r[i].shape.takeUnretainedValue(), start: Int(r[i].start), aggregatePotential: 0,
                                supportingPatterns: 0, totalWeightedFrequency: 0).forEachFutureEvent(body)
        case .values(let v): try v[i].forEachFutureEvent(body)
        }
    }

    /// Asks the CPU to fetch the first 128 bytes of element `i`'s pattern object (the fields that
    /// locate its bytes: ``prefetchFutureWire(at:)`` reads them): an encoder asks twice as far
    /// ahead as for the bytes. A hint: nothing read, nothing retained.
    @inline(__always)
    public func prefetchFuturePattern(at i: Int) {
        let object: UnsafeRawPointer?
        switch source {
        case .records(let r): object = UnsafeRawPointer(r[i].shape.toOpaque())
        case .values(let v): object = v[i].patternFuture.map { UnsafeRawPointer(Unmanaged.passUnretained($0.0).toOpaque()) }
        }
        if let object { PatternShape.prefetch(object, 128) }
    }

    /// Asks the CPU to fetch the cache lines of element `i`'s future bytes (a hint). An encoder asks
    /// a few potentials ahead: the ≈1,065 futures of a 10,000-pattern response are in as many
    /// patterns' bytes, lines the query itself never read.
    @inline(__always)
    public func prefetchFutureWire(at i: Int) {
        let wire: (UnsafeRawPointer, Int)?
        switch source {
        case .records(let r): wire = r[i].shape._withUnsafeGuaranteedRef { $0.wireLines }
        case .values(let v): wire = v[i].patternFuture.map { $0.0.wireLines }
        }
        if let (address, count) = wire { PatternShape.prefetch(address, count) }
    }

    /// Calls `body` for every element in order with its future's bytes (``futureWireBytes(at:)``:
    /// `nil` for an explicit future) and its numbers, asking the CPU for each element's pattern
    /// object `2·ahead` elements before and for its bytes `ahead` before (``prefetchFuturePattern(at:)``,
    /// ``prefetchFutureWire(at:)``). The encoders' loop (issue 15, fourth wire pass): one call per
    /// element instead of four — this reader's accessors are not inlined into another module (its
    /// storage is private), ≈60 instructions per future potential.
    public func forEachWire(
        ahead: Int,
        _ body: (_ i: Int, _ future: UnsafeRawBufferPointer?,
                 _ numbers: (aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double)) throws -> Void
    ) rethrows {
        let count = self.count
        for i in 0..<Swift.min(2 &* ahead, count) { prefetchFuturePattern(at: i) }
        for i in 0..<Swift.min(ahead, count) { prefetchFutureWire(at: i) }
        switch source {
        case .records(let r):
            for i in 0..<count {
                if i &+ 2 &* ahead < count { PatternShape.prefetch(UnsafeRawPointer(r[i &+ 2 &* ahead].shape.toOpaque()), 128) }
                if i &+ ahead < count {
                    let (address, lines) = r[i &+ ahead].shape._withUnsafeGuaranteedRef { $0.wireLines }
                    PatternShape.prefetch(address, lines)
                }
                let record = r[i]
                let bytes = record.shape._withUnsafeGuaranteedRef { $0.wireRun(Int(record.start), $0.eventCount) }
                try body(i, bytes, (record.aggregatePotential, Int(record.supportingPatterns), record.totalWeightedFrequency))
            }
        case .values:
            for i in 0..<count {
                if i &+ 2 &* ahead < count { prefetchFuturePattern(at: i &+ 2 &* ahead) }
                if i &+ ahead < count { prefetchFutureWire(at: i &+ ahead) }
                try body(i, futureWireBytes(at: i), numbers(at: i))
            }
        }
    }
}

extension FuturePotentials: Codable {
    /// As the array of values (the same JSON as `[FuturePotential]`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Array(self))
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([FuturePotential].self))
    }
}

/// A computed list's records and what keeps their patterns alive.
final class ComputedFuturePotentials: Sendable {
    /// One future potential: its pattern (unretained: `chunks` or `lastChunk` holds it — an immutable
    /// array, so the reference stays valid as long as this object), the future's first event, and
    /// the numbers.
    struct Record: @unchecked Sendable {
        var shape: Unmanaged<PatternShape>
        var aggregatePotential: Double
        var totalWeightedFrequency: Double
        var start: Int32
        var supportingPatterns: Int32
    }
    let records: [Record]
    let chunks: [[PatternShape]]
    let lastChunk: [PatternShape]

    init(records: [Record], chunks: [[PatternShape]], lastChunk: [PatternShape]) {
        self.records = records
        self.chunks = chunks
        self.lastChunk = lastChunk
    }
}
