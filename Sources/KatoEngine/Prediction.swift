/// One prediction: a learned pattern aligned with the STM, with KATO v2.0.0's metrics (kato-semantics §4.5).
public struct Prediction: Sendable, Hashable, Codable {
    /// Always `"prototypical"`.
    public var type: String
    /// The bare pattern hash (no `PTRN|`).
    public var name: String
    public var frequency: Int
    /// `average_emotives` of the pattern's emotive window.
    public var emotives: [String: Double]
    /// STM symbols covered by the matching blocks, in order.
    public var matches: [String]
    public var past: [[String]]
    public var present: [[String]]
    /// Per present event: its symbols not in `matches`.
    public var missing: [[String]]
    /// Per STM event: its symbols not in the flattened `present`.
    public var extras: [[String]]
    public var future: [[String]]
    /// The whole pattern.
    public var sequence: [[String]]
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
}

/// The ensemble's weight of one distinct future (kato-semantics §4.7).
public struct FuturePotential: Sendable, Hashable {
    private let shape: PatternShape?
    private let start: Int
    private let explicitFuture: [[String]]
    public var aggregatePotential: Double
    public var supportingPatterns: Int
    public var totalWeightedFrequency: Double

    /// The first supporting prediction's future (built on access; the engine keeps a reference to the pattern).
    public var future: [[String]] {
        if let shape { return Array(shape.events[start...]) }
        return explicitFuture
    }

    public init(future: [[String]], aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        self.shape = nil
        self.start = 0
        self.explicitFuture = future
        self.aggregatePotential = aggregatePotential
        self.supportingPatterns = supportingPatterns
        self.totalWeightedFrequency = totalWeightedFrequency
    }

    init(shape: PatternShape, start: Int, aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double) {
        self.shape = shape
        self.start = start
        self.explicitFuture = []
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
