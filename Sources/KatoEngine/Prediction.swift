/// One prediction: a learned pattern aligned with the STM, with KATO v2.0.0's metrics (kato-semantics §4.5).
public struct Prediction: Sendable, Hashable {
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
    /// The first supporting prediction's future.
    public var future: [[String]]
    public var aggregatePotential: Double
    public var supportingPatterns: Int
    public var totalWeightedFrequency: Double
}
