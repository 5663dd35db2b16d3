import KatoEngine
import KatoProto
import ProtobufCBridge

/// Conversions between the engine's values and the kato.v2 messages: the one boundary
/// where wire types meet engine types.
enum Convert {
    static func events(_ events: [[String]]) -> [Kato_V2_Event] {
        events.map { symbols in
            var e = Kato_V2_Event()
            e.symbols = symbols
            return e
        }
    }

    static func prediction(_ p: Prediction) -> Kato_V2_Prediction {
        var m = Kato_V2_Prediction()
        m.type = p.type
        m.name = p.name
        m.frequency = Int64(p.frequency)
        m.emotives = p.emotives
        m.matches = p.matches
        m.past = events(p.past)
        m.present = events(p.present)
        m.future = events(p.future)
        m.missing = events(p.missing)
        m.extras = events(p.extras)
        m.sequence = events(p.sequence)
        m.similarity = p.similarity
        m.evidence = p.evidence
        m.confidence = p.confidence
        m.fragmentation = p.fragmentation
        m.snr = p.snr
        m.entropy = p.entropy
        m.normalizedEntropy = p.normalizedEntropy
        m.globalNormalizedEntropy = p.globalNormalizedEntropy
        m.confluence = p.confluence
        m.potential = p.potential
        m.predictiveInformation = p.predictiveInformation
        m.itfdfSimilarity = p.itfdfSimilarity
        m.patternProbability = p.patternProbability
        m.weightedStrength = p.weightedStrength
        return m
    }

    static func futurePotential(_ f: FuturePotential) -> Kato_V2_FuturePotential {
        var m = Kato_V2_FuturePotential()
        m.future = events(f.future)
        m.aggregatePotential = f.aggregatePotential
        m.supportingPatterns = Int64(f.supportingPatterns)
        m.totalWeightedFrequency = f.totalWeightedFrequency
        return m
    }

    static func pattern(_ p: Pattern) -> Kato_V2_Pattern {
        var m = Kato_V2_Pattern()
        m.name = p.publicName
        m.patternData = events(p.events)
        m.length = Int64(p.length)
        m.frequency = Int64(p.frequency)
        m.emotives = (p.emotives ?? []).map { values in
            var e = Kato_V2_EmotiveProfile()
            e.values = values
            return e
        }
        m.metadata = p.metadata.mapValues { values in
            var list = Kato_V2_StringList()
            list.values = values
            return list
        }
        return m
    }

    // MARK: observations

    static func observation(
        strings: [String], vectors: [Kato_V2_Vector], emotives: [String: Double],
        metadata: [String: Google_Protobuf_Value], field: String = ""
    ) throws(KatoError) -> Observation {
        var converted: [String: MetadataValue] = [:]
        for (key, value) in metadata {
            converted[key] = try metadataValue(value, field: field + "metadata.\(key)")
        }
        return Observation(
            strings: strings, vectors: vectors.map(\.values), emotives: emotives, metadata: converted)
    }

    static func observation(_ o: Kato_V2_Observation, field: String) throws(KatoError) -> Observation {
        try observation(strings: o.strings, vectors: o.vectors, emotives: o.emotives, metadata: o.metadata, field: field)
    }

    /// JSON numbers arrive as doubles; integral values become ints so `5` is stored as
    /// KATO stores a JSON `5` ("5", not "5.0").
    static func metadataValue(_ v: Google_Protobuf_Value, field: String) throws(KatoError) -> MetadataValue {
        switch v.kind {
        case nil, .nullValue?: return .null
        case .boolValue(let b)?: return .bool(b)
        case .stringValue(let s)?: return .string(s)
        case .numberValue(let d)?:
            guard d.isFinite else { throw .invalid(field, "must be a finite number") }
            if d == d.rounded(), abs(d) < 9.007_199_254_740_992e15 { return .int(Int64(d)) }
            return .double(d)
        case .listValue(let list)?:
            var items: [MetadataValue] = []
            for (i, item) in list.values.enumerated() { items.append(try metadataValue(item, field: field + "[\(i)]")) }
            return .array(items)
        case .structValue(let s)?:
            var pairs: [(key: String, value: MetadataValue)] = []
            for key in s.fields.keys.sorted() {
                pairs.append((key, try metadataValue(s.fields[key]!, field: field + ".\(key)")))
            }
            return .object(pairs)
        }
    }

    static func protoValue(_ v: MetadataValue) -> Google_Protobuf_Value {
        var m = Google_Protobuf_Value()
        switch v {
        case .null: m.kind = .nullValue(.nullValue)
        case .bool(let b): m.kind = .boolValue(b)
        case .int(let i): m.kind = .numberValue(Double(i))
        case .double(let d): m.kind = .numberValue(d)
        case .string(let s): m.kind = .stringValue(s)
        case .array(let items):
            var list = Google_Protobuf_ListValue()
            list.values = items.map(protoValue)
            m.kind = .listValue(list)
        case .object(let pairs):
            var s = Google_Protobuf_Struct()
            for (k, value) in pairs { s.fields[k] = protoValue(value) }
            m.kind = .structValue(s)
        }
        return m
    }

    // MARK: configuration

    static func configUpdate(_ c: Kato_V2_SessionConfig?) throws(KatoError) -> ConfigUpdate {
        guard let c else { return ConfigUpdate() }
        var update = ConfigUpdate()
        update.maxPatternLength = try c.maxPatternLength.map { v throws(KatoError) in try int(v, "config.max_pattern_length") }
        update.persistence = try c.persistence.map { v throws(KatoError) in try int(v, "config.persistence") }
        update.recallThreshold = c.recallThreshold
        update.maxPredictions = try c.maxPredictions.map { v throws(KatoError) in try int(v, "config.max_predictions") }
        update.sortSymbols = c.sortSymbols
        update.processPredictions = c.processPredictions
        switch c.stmMode {
        case .unspecified: break
        case .clear: update.stmMode = .clear
        case .rolling: update.stmMode = .rolling
        case .UNRECOGNIZED(let raw): throw .invalid("config.stm_mode", "unknown STM mode \(raw) (CLEAR or ROLLING)")
        }
        if let indexer = c.indexerType {
            do {
                update.indexerType = try IndexerType(validating: indexer)
            } catch {
                throw .invalid("config.indexer_type", error.reason)
            }
        }
        return update
    }

    private static func int(_ v: Int64, _ field: String) throws(KatoError) -> Int {
        guard let i = Int(exactly: v) else { throw .invalid(field, "out of range") }
        return i
    }

    static func config(_ c: EngineConfig) -> Kato_V2_SessionConfig {
        var m = Kato_V2_SessionConfig()
        m.maxPatternLength = Int64(c.maxPatternLength)
        m.persistence = Int64(c.persistence)
        m.recallThreshold = c.recallThreshold
        m.stmMode = c.stmMode == .rolling ? .rolling : .clear
        m.indexerType = c.indexerType.rawValue
        m.maxPredictions = Int64(c.maxPredictions)
        m.sortSymbols = c.sortSymbols
        m.processPredictions = c.processPredictions
        return m
    }

    static func timestamp(_ secondsSince1970: Double) -> Google_Protobuf_Timestamp {
        var t = Google_Protobuf_Timestamp()
        t.seconds = Int64(secondsSince1970.rounded(.down))
        t.nanos = Int32((secondsSince1970 - Double(t.seconds)) * 1e9)
        return t
    }
}
