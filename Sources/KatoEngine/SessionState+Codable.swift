/// Sessions as values that move between processes — a hand-over to a new process, a session
/// store shared by replicas — through any `Encoder` (doubles must round-trip bit for bit: use a
/// binary format or one that writes shortest round-trip decimals). `SessionState`, `Prediction`,
/// `Observation` and `EngineConfig` synthesise theirs; these two are written out.

extension FuturePotential: Codable {
    private enum CodingKeys: String, CodingKey { case future, aggregatePotential, supportingPatterns, totalWeightedFrequency }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(future, forKey: .future)
        try c.encode(aggregatePotential, forKey: .aggregatePotential)
        try c.encode(supportingPatterns, forKey: .supportingPatterns)
        try c.encode(totalWeightedFrequency, forKey: .totalWeightedFrequency)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            future: try c.decode([[String]].self, forKey: .future),
            aggregatePotential: try c.decode(Double.self, forKey: .aggregatePotential),
            supportingPatterns: try c.decode(Int.self, forKey: .supportingPatterns),
            totalWeightedFrequency: try c.decode(Double.self, forKey: .totalWeightedFrequency))
    }
}

/// Tagged encoding; objects keep their key order (as a list of `[key, value]` pairs).
extension MetadataValue: Codable {
    private enum Kind: String, Codable { case null, bool, int, double, string, array, object }
    private enum CodingKeys: String, CodingKey { case kind, value }
    private struct Member: Codable {
        var key: String
        var value: MetadataValue
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .null: try c.encode(Kind.null, forKey: .kind)
        case .bool(let v): try c.encode(Kind.bool, forKey: .kind); try c.encode(v, forKey: .value)
        case .int(let v): try c.encode(Kind.int, forKey: .kind); try c.encode(v, forKey: .value)
        case .double(let v): try c.encode(Kind.double, forKey: .kind); try c.encode(v, forKey: .value)
        case .string(let v): try c.encode(Kind.string, forKey: .kind); try c.encode(v, forKey: .value)
        case .array(let v): try c.encode(Kind.array, forKey: .kind); try c.encode(v, forKey: .value)
        case .object(let v):
            try c.encode(Kind.object, forKey: .kind)
            try c.encode(v.map { Member(key: $0.key, value: $0.value) }, forKey: .value)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Kind.self, forKey: .kind) {
        case .null: self = .null
        case .bool: self = .bool(try c.decode(Bool.self, forKey: .value))
        case .int: self = .int(try c.decode(Int64.self, forKey: .value))
        case .double: self = .double(try c.decode(Double.self, forKey: .value))
        case .string: self = .string(try c.decode(String.self, forKey: .value))
        case .array: self = .array(try c.decode([MetadataValue].self, forKey: .value))
        case .object: self = .object(try c.decode([Member].self, forKey: .value).map { (key: $0.key, value: $0.value) })
        }
    }
}
