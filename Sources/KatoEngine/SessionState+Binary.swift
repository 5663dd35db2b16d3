/// `SessionState` in `BinaryWriter`'s form, for a hand-over of live sessions to a successor
/// process: the fields its `Codable` form has (everything but the undo record), in a fixed order,
/// about 20× cheaper to write and read than JSON. A change of the fields or their order must
/// change the caller's format version (`SessionHandOver`); `SessionStateBinaryTests` fails when a
/// field is added without it.
extension SessionState {
    public func encode(into w: inout BinaryWriter) {
        config.encode(into: &w)
        w.events(stm)
        w.int(time)
        w.count(emotivesAccumulator.count)
        for e in emotivesAccumulator { w.doubles(e) }
        w.count(metadataAccumulator.count)
        for m in metadataAccumulator { MetadataValue.encode(m, into: &w) }
        w.count(predictions.count)
        for p in predictions { p.encode(into: &w) }
        w.count(futurePotentials.count)
        for f in futurePotentials {
            w.events(f.future)
            w.double(f.aggregatePotential)
            w.int(f.supportingPatterns)
            w.double(f.totalWeightedFrequency)
        }
        w.bool(lastObservation != nil)
        if let o = lastObservation {
            w.strings(o.strings)
            w.count(o.vectors.count)
            for v in o.vectors {
                w.count(v.count)
                for x in v { w.double(x) }
            }
            w.doubles(o.emotives)
            MetadataValue.encode(o.metadata, into: &w)
        }
        w.strings(lastSymbols)
    }

    public init(decoding r: inout BinaryReader) throws(BinaryFormatError) {
        let config = try EngineConfig(decoding: &r)
        let stm = try r.events()
        let time = try r.int()
        var emotives: [[String: Double]] = []
        for _ in 0..<(try r.count()) { emotives.append(try r.doubles()) }
        var metadata: [[String: MetadataValue]] = []
        for _ in 0..<(try r.count()) { metadata.append(try MetadataValue.decodeObject(&r, depth: 0)) }
        var predictions: [Prediction] = []
        let predictionCount = try r.count()
        predictions.reserveCapacity(predictionCount)
        for _ in 0..<predictionCount { predictions.append(try Prediction(decoding: &r)) }
        var potentials: [FuturePotential] = []
        for _ in 0..<(try r.count()) {
            potentials.append(FuturePotential(
                future: try r.events(), aggregatePotential: try r.double(), supportingPatterns: try r.int(),
                totalWeightedFrequency: try r.double()))
        }
        var observation: Observation?
        if try r.bool() {
            let strings = try r.strings()
            var vectors: [[Double]] = []
            for _ in 0..<(try r.count()) {
                let n = try r.count()
                var v: [Double] = []
                v.reserveCapacity(n)
                for _ in 0..<n { v.append(try r.double()) }
                vectors.append(v)
            }
            observation = Observation(strings: strings, vectors: vectors, emotives: try r.doubles(),
                                      metadata: try MetadataValue.decodeObject(&r, depth: 0))
        }
        self.init(
            config: config, stm: stm, time: time, emotivesAccumulator: emotives, metadataAccumulator: metadata,
            predictions: predictions, futurePotentials: FuturePotentials(potentials), lastObservation: observation, lastSymbols: try r.strings())
    }
}

extension EngineConfig {
    func encode(into w: inout BinaryWriter) {
        w.int(maxPatternLength)
        w.int(persistence)
        w.double(recallThreshold)
        w.string(stmMode.rawValue)
        w.string(indexerType.rawValue)
        w.int(maxPredictions)
        w.bool(sortSymbols)
        w.bool(processPredictions)
    }

    init(decoding r: inout BinaryReader) throws(BinaryFormatError) {
        let maxPatternLength = try r.int(), persistence = try r.int(), recallThreshold = try r.double()
        let mode = try r.string(), indexer = try r.string()
        guard let stmMode = STMMode(rawValue: mode), let indexerType = IndexerType(rawValue: indexer) else {
            throw r.fail("unknown stm_mode \(mode) or indexer_type \(indexer)")
        }
        self.init(
            maxPatternLength: maxPatternLength, persistence: persistence, recallThreshold: recallThreshold, stmMode: stmMode,
            indexerType: indexerType, maxPredictions: try r.int(), sortSymbols: try r.bool(), processPredictions: try r.bool())
    }
}

extension Prediction {
    func encode(into w: inout BinaryWriter) {
        w.string(type)
        w.string(name)
        w.int(frequency)
        w.doubles(emotives)
        w.strings(matches)
        for part in [past, present, missing, extras, future, sequence] { w.events(part) }
        for x in [potential, evidence, similarity, fragmentation, snr, entropy, normalizedEntropy, globalNormalizedEntropy,
                  confluence, predictiveInformation, confidence, itfdfSimilarity, patternProbability, weightedStrength] {
            w.double(x)
        }
    }

    init(decoding r: inout BinaryReader) throws(BinaryFormatError) {
        let type = try r.string(), name = try r.string(), frequency = try r.int(), emotives = try r.doubles()
        let matches = try r.strings()
        let past = try r.events(), present = try r.events(), missing = try r.events(), extras = try r.events()
        let future = try r.events(), sequence = try r.events()
        var x: [Double] = []
        x.reserveCapacity(14)
        for _ in 0..<14 { x.append(try r.double()) }
        self.init(
            type: type, name: name, frequency: frequency, emotives: emotives, matches: matches, past: past, present: present,
            missing: missing, extras: extras, future: future, sequence: sequence, potential: x[0], evidence: x[1],
            similarity: x[2], fragmentation: x[3], snr: x[4], entropy: x[5], normalizedEntropy: x[6],
            globalNormalizedEntropy: x[7], confluence: x[8], predictiveInformation: x[9], confidence: x[10],
            itfdfSimilarity: x[11], patternProbability: x[12], weightedStrength: x[13])
    }
}

extension MetadataValue {
    /// Nesting deeper than this is refused on reading (the writer is a kato process; this bounds
    /// the recursion, not what kato accepts).
    static let maxBinaryDepth = 512

    /// An object's members, keys sorted.
    static func encode(_ object: [String: MetadataValue], into w: inout BinaryWriter) {
        w.count(object.count)
        for key in object.keys.sorted() {
            w.string(key)
            object[key]!.encode(into: &w)
        }
    }

    func encode(into w: inout BinaryWriter) {
        switch self {
        case .null: w.count(0)
        case .bool(let b): w.count(b ? 2 : 1)
        case .int(let i):
            w.count(3)
            w.int(Int(i))
        case .double(let d):
            w.count(4)
            w.double(d)
        case .string(let s):
            w.count(5)
            w.string(s)
        case .array(let items):
            w.count(6)
            w.count(items.count)
            for item in items { item.encode(into: &w) }
        case .object(let pairs):
            w.count(7)
            w.count(pairs.count)
            for (key, value) in pairs {
                w.string(key)
                value.encode(into: &w)
            }
        }
    }

    static func decodeObject(_ r: inout BinaryReader, depth: Int) throws(BinaryFormatError) -> [String: MetadataValue] {
        let n = try r.count()
        var out: [String: MetadataValue] = Dictionary(minimumCapacity: n)
        for _ in 0..<n {
            let key = try r.string()
            out[key] = try decode(&r, depth: depth + 1)
        }
        return out
    }

    static func decode(_ r: inout BinaryReader, depth: Int) throws(BinaryFormatError) -> MetadataValue {
        guard depth < maxBinaryDepth else { throw r.fail("metadata nested deeper than \(maxBinaryDepth)") }
        switch try r.byte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(Int64(try r.int()))
        case 4: return .double(try r.double())
        case 5: return .string(try r.string())
        case 6:
            var items: [MetadataValue] = []
            for _ in 0..<(try r.count()) { items.append(try decode(&r, depth: depth + 1)) }
            return .array(items)
        case 7:
            var pairs: [(key: String, value: MetadataValue)] = []
            for _ in 0..<(try r.count()) { pairs.append((try r.string(), try decode(&r, depth: depth + 1))) }
            return .object(pairs)
        case let tag: throw r.fail("unknown metadata tag \(tag)")
        }
    }
}
