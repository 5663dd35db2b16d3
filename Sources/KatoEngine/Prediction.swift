/// One prediction: a learned pattern aligned with the STM, with KATO v2.0.0's metrics (kato-semantics §4.5).
///
/// Compact (issue 15): a prediction the engine computes holds its list's shared batch (which owns
/// the list's patterns, their emotive windows and the alignment bits — which STM symbols matched,
/// which are extras, which present symbols are missing) and its place in it; the string arrays
/// (`matches`, `past`, `present`, `missing`, `extras`, `future`, `sequence`) and `emotives` are
/// built when read. An encoder that does not need arrays reads the symbols in place
/// (``eventCount(_:)``, ``forEachSymbol(in:event:_:)``, ``forEachMatch(_:)``). Setting a field
/// stores it explicitly; values, `==`, hashing and `Codable` are those of the fields as read.
public struct Prediction: Sendable {
    /// Always `"prototypical"`.
    public var type: String {
        get { overrides?.fields.type ?? "prototypical" }
        set { override { $0.type = newValue } }
    }
    /// The bare pattern hash (no `PTRN|`).
    public var name: String {
        get { overrides?.fields.name ?? alignment?.shape.name ?? "" }
        set { override { $0.name = newValue } }
    }
    public var frequency: Int
    public var potential: Double
    public var evidence: Double
    public var similarity: Double
    public var fragmentation: Double
    public var snr: Double
    public var entropy: Double
    public var normalizedEntropy: Double
    public var globalNormalizedEntropy: Double
    public var confluence: Double
    public var predictiveInformation: Double
    public var confidence: Double
    public var itfdfSimilarity: Double
    public var patternProbability: Double
    public var weightedStrength: Double

    /// The engine's compact form (`nil`: every array field is explicit).
    var alignment: Alignment?
    /// Fields set explicitly (by the memberwise initialiser, decoding or a setter) override the
    /// alignment's (the engine's `type` is `"prototypical"`, its `name` the pattern's). One box,
    /// `nil` for the engine's predictions, so that copying a prediction retains one object (its
    /// alignment's batch, which owns the pattern and the emotive window), not 8.
    private var overrides: Overrides?

    private struct Fields: Sendable {
        var type: String?
        var name: String?
        var emotives: [String: Double]?
        var matches: [String]?
        var events: [[[String]]?]?
    }

    /// Immutable: a setter stores a new box (value semantics).
    private final class Overrides: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private mutating func override(_ change: (inout Fields) -> Void) {
        var fields = overrides?.fields ?? Fields()
        change(&fields)
        overrides = Overrides(fields)
    }

    private var explicitEmotives: [String: Double]? { overrides?.fields.emotives }
    private var explicitMatches: [String]? { overrides?.fields.matches }
    private var explicitEvents: [[[String]]?]? { overrides?.fields.events }
    /// Whether `field` was set explicitly (its events are then not the alignment's: `EventWire`).
    func hasExplicitEvents(_ field: EventsField) -> Bool { explicitEvents?[field.rawValue] != nil }
    /// Whether any field was set explicitly (`wireView(at:)` then gives `nil`).
    var hasExplicitFields: Bool { overrides != nil }

    /// `average_emotives` of the pattern's emotive window.
    public var emotives: [String: Double] {
        get {
            if let explicitEmotives { return explicitEmotives }
            return Accumulation.averageEmotives(alignment?.emotiveWindow ?? [])
        }
        set { override { $0.emotives = newValue } }
    }

    /// STM symbols covered by the matching blocks, in order.
    public var matches: [String] {
        get {
            if let explicitMatches { return explicitMatches }
            var out: [String] = []
            out.reserveCapacity(Int(alignment?.matchCount ?? 0))
            forEachMatch { out.append($0) }
            return out
        }
        set { override { $0.matches = newValue } }
    }

    public var past: [[String]] { get { events(.past) } set { setEvents(.past, newValue) } }
    public var present: [[String]] { get { events(.present) } set { setEvents(.present, newValue) } }
    /// Per present event: its symbols not in `matches`.
    public var missing: [[String]] { get { events(.missing) } set { setEvents(.missing, newValue) } }
    /// Per STM event: its symbols not in the flattened `present`.
    public var extras: [[String]] { get { events(.extras) } set { setEvents(.extras, newValue) } }
    public var future: [[String]] { get { events(.future) } set { setEvents(.future, newValue) } }
    /// The whole pattern.
    public var sequence: [[String]] { get { events(.sequence) } set { setEvents(.sequence, newValue) } }

    public init(
        type: String, name: String, frequency: Int, emotives: [String: Double], matches: [String],
        past: [[String]], present: [[String]], missing: [[String]], extras: [[String]], future: [[String]],
        sequence: [[String]], potential: Double, evidence: Double, similarity: Double, fragmentation: Double,
        snr: Double, entropy: Double, normalizedEntropy: Double, globalNormalizedEntropy: Double,
        confluence: Double, predictiveInformation: Double, confidence: Double, itfdfSimilarity: Double,
        patternProbability: Double, weightedStrength: Double
    ) {
        self.init(
            frequency: frequency, alignment: nil, potential: potential, evidence: evidence,
            similarity: similarity, fragmentation: fragmentation, snr: snr, entropy: entropy,
            normalizedEntropy: normalizedEntropy, globalNormalizedEntropy: globalNormalizedEntropy,
            confluence: confluence, predictiveInformation: predictiveInformation, confidence: confidence,
            itfdfSimilarity: itfdfSimilarity, patternProbability: patternProbability, weightedStrength: weightedStrength)
        overrides = Overrides(Fields(
            type: type, name: name, emotives: emotives, matches: matches,
            events: [past, present, future, missing, extras, sequence]))
    }

    /// The engine's form: the arrays (and the name) come from `alignment` when read.
    init(
        frequency: Int, alignment: Alignment?, potential: Double, evidence: Double,
        similarity: Double, fragmentation: Double, snr: Double, entropy: Double, normalizedEntropy: Double,
        globalNormalizedEntropy: Double, confluence: Double, predictiveInformation: Double, confidence: Double,
        itfdfSimilarity: Double, patternProbability: Double, weightedStrength: Double
    ) {
        self.frequency = frequency
        self.alignment = alignment
        self.potential = potential
        self.evidence = evidence
        self.similarity = similarity
        self.fragmentation = fragmentation
        self.snr = snr
        self.entropy = entropy
        self.normalizedEntropy = normalizedEntropy
        self.globalNormalizedEntropy = globalNormalizedEntropy
        self.confluence = confluence
        self.predictiveInformation = predictiveInformation
        self.confidence = confidence
        self.itfdfSimilarity = itfdfSimilarity
        self.patternProbability = patternProbability
        self.weightedStrength = weightedStrength
    }

    /// The nested-event fields, for reading them without building arrays.
    public enum EventsField: Int, Sendable, CaseIterable {
        case past, present, future, missing, extras, sequence
    }

    /// The field's events as arrays (what the property of the same name returns).
    public func events(_ field: EventsField) -> [[String]] {
        if let explicit = explicitEvents?[field.rawValue] { return explicit }
        guard let alignment else { return [] }
        let shape = alignment.shape
        switch field {
        case .sequence: return shape.events
        case .past: return shape.events(0..<Int(alignment.k1))
        case .present: return shape.events(Int(alignment.k1)..<Int(alignment.k2))
        case .future: return shape.events(Int(alignment.k2)..<shape.eventCount)
        case .missing, .extras:
            var out = [[String]](repeating: [], count: eventCount(field))
            alignment.forEachSymbol(field) { k, s in out[k].append(s) }
            return out
        }
    }

    private mutating func setEvents(_ field: EventsField, _ value: [[String]]) {
        override { fields in
            if fields.events == nil { fields.events = [[[String]]?](repeating: nil, count: EventsField.allCases.count) }
            fields.events![field.rawValue] = value
        }
    }

    /// Number of events of `field`.
    public func eventCount(_ field: EventsField) -> Int {
        if let explicit = explicitEvents?[field.rawValue] { return explicit.count }
        return alignment?.eventCount(field) ?? 0
    }

    /// Calls `body` with each symbol of event `event` of `field`, in order, without building arrays
    /// (the strings are the pattern's and the STM's own).
    @inline(__always)
    public func forEachSymbol(in field: EventsField, event: Int, _ body: (String) throws -> Void) rethrows {
        if let explicit = explicitEvents?[field.rawValue] {
            for s in explicit[event] { try body(s) }
            return
        }
        try alignment?.forEachSymbol(field, event: event, body)
    }

    /// Calls `body` with each symbol of `field` and the index of its event, in order, without
    /// building arrays (one call per field; an empty event has no call: ``eventCount(_:)`` counts it).
    public func forEachSymbol(in field: EventsField, _ body: (_ event: Int, _ symbol: String) throws -> Void) rethrows {
        if let explicit = explicitEvents?[field.rawValue] {
            for (k, e) in explicit.enumerated() {
                for s in e { try body(k, s) }
            }
            return
        }
        try alignment?.forEachSymbol(field, body)
    }

    /// Reads `field` in place one event at a time: the cheap reader for encoders (one call per event
    /// instead of one per symbol, and no `String` copied — `symbols[i]` is read where it is stored).
    /// `symbols` views the event's symbols in the pattern's (or, for `extras`, the STM's) own storage;
    /// bit i of `selected` is set when `symbols[i]` belongs to the field: every bit of the piece for
    /// `past`, `present`, `future` and `sequence`, those not matched for `missing` and `extras`. An
    /// event of more than 64 symbols comes in consecutive pieces of at most 64 (same `event`); every
    /// event, even an empty one, gets at least one call, in order.
    public func forEachEvent(
        in field: EventsField, _ body: (_ event: Int, _ symbols: Span<String>, _ selected: UInt64) throws -> Void
    ) rethrows {
        if let explicit = explicitEvents?[field.rawValue] {
            for (k, e) in explicit.enumerated() {
                try Self.forEachPiece(e) { try body(k, $0, $1) }
            }
            return
        }
        try alignment?.forEachEvent(field, body)
    }

    /// Reads `matches` in place: `symbols` pieces (at most 64 symbols each, in order) of the flattened
    /// STM, bit i of `selected` set when `symbols[i]` is a match (see ``forEachEvent(in:_:)``).
    public func forEachMatchPiece(_ body: (_ symbols: Span<String>, _ selected: UInt64) throws -> Void) rethrows {
        if let explicitMatches {
            if !explicitMatches.isEmpty { try Self.forEachPiece(explicitMatches, body) }
            return
        }
        try alignment?.forEachMatchPiece(body)
    }

    /// `array` in pieces of at most 64 elements, every bit of each piece selected (at least one call).
    static func forEachPiece(_ array: [String], _ body: (Span<String>, UInt64) throws -> Void) rethrows {
        let span = array.span
        var lo = 0
        repeat {
            let n = min(64, span.count - lo)
            try body(span.extracting(lo..<(lo + n)), PredictionBatch.lowBits(n))
            lo += n
        } while lo < span.count
    }

    /// Calls `body` with each symbol of `matches`, in order, without building the array.
    @inline(__always)
    public func forEachMatch(_ body: (String) throws -> Void) rethrows {
        if let explicitMatches {
            for s in explicitMatches { try body(s) }
            return
        }
        try alignment?.forEachMatch(body)
    }
}

extension Prediction: Hashable {
    public static func == (l: Prediction, r: Prediction) -> Bool {
        l.type == r.type && l.name == r.name && l.frequency == r.frequency && l.emotives == r.emotives
            && l.matches == r.matches && EventsField.allCases.allSatisfy { l.events($0) == r.events($0) }
            && l.potential == r.potential && l.evidence == r.evidence && l.similarity == r.similarity
            && l.fragmentation == r.fragmentation && l.snr == r.snr && l.entropy == r.entropy
            && l.normalizedEntropy == r.normalizedEntropy && l.globalNormalizedEntropy == r.globalNormalizedEntropy
            && l.confluence == r.confluence && l.predictiveInformation == r.predictiveInformation
            && l.confidence == r.confidence && l.itfdfSimilarity == r.itfdfSimilarity
            && l.patternProbability == r.patternProbability && l.weightedStrength == r.weightedStrength
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(name)
        hasher.combine(frequency)
        hasher.combine(emotives)
        hasher.combine(matches)
        for field in EventsField.allCases { hasher.combine(events(field)) }
        for x in [potential, evidence, similarity, fragmentation, snr, entropy, normalizedEntropy, globalNormalizedEntropy,
                  confluence, predictiveInformation, confidence, itfdfSimilarity, patternProbability, weightedStrength] {
            hasher.combine(x)
        }
    }
}

/// The ensemble's weight of one distinct future (kato-semantics §4.7).
public struct FuturePotential: Sendable, Hashable {
    /// Where the future's events are: the engine's point into a pattern (events `start...`, built
    /// when read), the public initialiser's are explicit. One enum, so that copying a value (a query
    /// has ≈1,000 of them, copied by every reader's loop) retains one object, not two.
    private enum Events: Sendable {
        case pattern(PatternShape, start: Int)
        case explicit([[String]])
    }
    private let storage: Events
    public var aggregatePotential: Double
    public var supportingPatterns: Int
    public var totalWeightedFrequency: Double

    /// The first supporting prediction's future (built on access; the engine keeps a reference to the pattern).
    public var future: [[String]] {
        switch storage {
        case .pattern(let shape, let start): return shape.events(start..<shape.eventCount)
        case .explicit(let future): return future
        }
    }

    /// The engine's pattern and the first event of `future` (`nil`: explicit; `EventWire`).
    var patternFuture: (PatternShape, Int)? {
        if case .pattern(let shape, let start) = storage { return (shape, start) }
        return nil
    }

    /// Number of events of `future` (no array built).
    public var futureEventCount: Int {
        switch storage {
        case .pattern(let shape, let start): return shape.eventCount - start
        case .explicit(let future): return future.count
        }
    }

    /// Calls `body` with each symbol of event `event` of `future`, in order, without building arrays.
    @inline(__always)
    public func forEachFutureSymbol(event: Int, _ body: (String) throws -> Void) rethrows {
        switch storage {
        case .pattern(let shape, let start): for s in shape.event(start + event) { try body(s) }
        case .explicit(let future): for s in future[event] { try body(s) }
        }
    }

    /// Reads `future` in place, one call per event (in order, empty ones included): `symbols` views the
    /// event's symbols in the pattern's own storage (nothing copied).
    public func forEachFutureEvent(_ body: (_ event: Int, _ symbols: Span<String>) throws -> Void) rethrows {
        switch storage {
        case .pattern(let shape, let start):
            // Event ends from the packed buffer (no array retained); the symbols borrowed in place.
            let ends = shape.packedView
            try shape.withSymbols { symbols in
                var lo = ends.start(start)
                for k in start..<shape.eventCount {
                    let hi = ends.end(k)
                    try body(k - start, symbols.extracting(lo..<hi))
                    lo = hi
                }
            }
        case .explicit(let future):
            for (k, e) in future.enumerated() { try body(k, e.span) }
        }
    }

    /// Calls `body` with each symbol of `future` and the index of its event, in order (per symbol:
    /// ``forEachFutureEvent(_:)`` is cheaper).
    public func forEachFutureSymbol(_ body: (_ event: Int, _ symbol: String) throws -> Void) rethrows {
        try forEachFutureEvent { k, symbols in
            for i in symbols.indices { try body(k, symbols[i]) }
        }
    }

    public init(future: [[String]], aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        self.storage = .explicit(future)
        self.aggregatePotential = aggregatePotential
        self.supportingPatterns = supportingPatterns
        self.totalWeightedFrequency = totalWeightedFrequency
    }

    init(shape: PatternShape, start: Int, aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        self.storage = .pattern(shape, start: start)
        self.aggregatePotential = aggregatePotential
        self.supportingPatterns = supportingPatterns
        self.totalWeightedFrequency = totalWeightedFrequency
    }

    public static func == (l: FuturePotential, r: FuturePotential) -> Bool {
        l.aggregatePotential == r.aggregatePotential && l.supportingPatterns == r.supportingPatterns
            && l.totalWeightedFrequency == r.totalWeightedFrequency && l.future == r.future
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(future)
        hasher.combine(aggregatePotential)
        hasher.combine(supportingPatterns)
        hasher.combine(totalWeightedFrequency)
    }
}
