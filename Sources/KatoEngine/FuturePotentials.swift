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

    /// `self[i]`'s numbers, read in place (no value built, no pattern retained).
    public func numbers(at i: Int) -> (aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        switch storage {
        case .computed(let c):
            return c.records.withUnsafeBufferPointer { r in
                (r[i].aggregatePotential, Int(r[i].supportingPatterns), r[i].totalWeightedFrequency)
            }
        case .explicit(let list):
            return list.withUnsafeBufferPointer { l in
                (l[i].aggregatePotential, l[i].supportingPatterns, l[i].totalWeightedFrequency)
            }
        }
    }

    /// `self[i].futureWireBytes` without building the value (``FuturePotential/futureWireBytes``):
    /// valid while this list lives. `nil` for an explicit future.
    public func futureWireBytes(at i: Int) -> UnsafeRawBufferPointer? {
        switch storage {
        case .computed(let c):
            return c.records.withUnsafeBufferPointer { r in
                r[i].shape._withUnsafeGuaranteedRef { $0.wireRun(Int(r[i].start), $0.eventCount) }
            }
        case .explicit(let list): return list.withUnsafeBufferPointer { $0[i].futureWireBytes }
        }
    }

    /// Asks the CPU to fetch the first 128 bytes of `self[i]`'s pattern object (the fields that
    /// locate its bytes: ``prefetchFutureWire(at:)`` reads them): a hint, nothing retained.
    public func prefetchFuturePattern(at i: Int) {
        guard case .computed(let c) = storage else { return }
        let object = c.records.withUnsafeBufferPointer { UnsafeRawPointer($0[i].shape.toOpaque()) }
        PatternShape.prefetch(object, 128)
    }

    /// Asks the CPU to fetch the cache lines of `self[i]`'s future bytes (a hint: nothing retained).
    public func prefetchFutureWire(at i: Int) {
        guard case .computed(let c) = storage else { return }
        let wire = c.records.withUnsafeBufferPointer { r in r[i].shape._withUnsafeGuaranteedRef { $0.wireLines } }
        PatternShape.prefetch(wire.0, wire.1)
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
