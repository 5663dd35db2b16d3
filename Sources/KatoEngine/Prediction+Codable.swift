/// The `Codable` form a synthesised conformance had: every public field under its own name (the
/// compact alignment is not part of it; decoding gives explicit arrays).
extension Prediction: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, name, frequency, emotives, matches, past, present, missing, extras, future, sequence
        case potential, evidence, similarity, fragmentation, snr, entropy, normalizedEntropy, globalNormalizedEntropy
        case confluence, predictiveInformation, confidence, itfdfSimilarity, patternProbability, weightedStrength
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(name, forKey: .name)
        try c.encode(frequency, forKey: .frequency)
        try c.encode(emotives, forKey: .emotives)
        try c.encode(matches, forKey: .matches)
        try c.encode(past, forKey: .past)
        try c.encode(present, forKey: .present)
        try c.encode(missing, forKey: .missing)
        try c.encode(extras, forKey: .extras)
        try c.encode(future, forKey: .future)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(potential, forKey: .potential)
        try c.encode(evidence, forKey: .evidence)
        try c.encode(similarity, forKey: .similarity)
        try c.encode(fragmentation, forKey: .fragmentation)
        try c.encode(snr, forKey: .snr)
        try c.encode(entropy, forKey: .entropy)
        try c.encode(normalizedEntropy, forKey: .normalizedEntropy)
        try c.encode(globalNormalizedEntropy, forKey: .globalNormalizedEntropy)
        try c.encode(confluence, forKey: .confluence)
        try c.encode(predictiveInformation, forKey: .predictiveInformation)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(itfdfSimilarity, forKey: .itfdfSimilarity)
        try c.encode(patternProbability, forKey: .patternProbability)
        try c.encode(weightedStrength, forKey: .weightedStrength)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func d(_ key: CodingKeys) throws -> Double { try c.decode(Double.self, forKey: key) }
        func e(_ key: CodingKeys) throws -> [[String]] { try c.decode([[String]].self, forKey: key) }
        self.init(
            type: try c.decode(String.self, forKey: .type), name: try c.decode(String.self, forKey: .name),
            frequency: try c.decode(Int.self, forKey: .frequency),
            emotives: try c.decode([String: Double].self, forKey: .emotives),
            matches: try c.decode([String].self, forKey: .matches), past: try e(.past), present: try e(.present),
            missing: try e(.missing), extras: try e(.extras), future: try e(.future), sequence: try e(.sequence),
            potential: try d(.potential), evidence: try d(.evidence), similarity: try d(.similarity),
            fragmentation: try d(.fragmentation), snr: try d(.snr), entropy: try d(.entropy),
            normalizedEntropy: try d(.normalizedEntropy), globalNormalizedEntropy: try d(.globalNormalizedEntropy),
            confluence: try d(.confluence), predictiveInformation: try d(.predictiveInformation),
            confidence: try d(.confidence), itfdfSimilarity: try d(.itfdfSimilarity),
            patternProbability: try d(.patternProbability), weightedStrength: try d(.weightedStrength))
    }
}
