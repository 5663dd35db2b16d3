/// One observation sent to a session: symbols, vectors, emotives and metadata (all optional).
public struct Observation: Sendable, Hashable, Codable {
    /// String symbols, used exactly as given (no trimming or case folding).
    public var strings: [String]
    /// Vectors; all vectors of one observation are summed element-wise into one `VCTR|` symbol.
    public var vectors: [[Double]]
    /// Emotive values by name.
    public var emotives: [String: Double]
    /// Arbitrary metadata, stored on the learned pattern as Python `str` values.
    public var metadata: [String: MetadataValue]

    public init(
        strings: [String] = [], vectors: [[Double]] = [], emotives: [String: Double] = [:],
        metadata: [String: MetadataValue] = [:]
    ) {
        self.strings = strings
        self.vectors = vectors
        self.emotives = emotives
        self.metadata = metadata
    }

    /// Checks the observation against `limits`; throws naming the first offending field.
    ///
    /// Rules: every number finite; all vectors of one observation have the same, non-zero
    /// dimension; counts and sizes within ``ObservationLimits``. Empty strings are valid symbols
    /// (KATO keeps them).
    public func validate(limits: ObservationLimits = .defaults) throws(EngineValidationError) {
        if strings.count > limits.maxSymbolsPerEvent {
            throw EngineValidationError(field: "strings", reason: "at most \(limits.maxSymbolsPerEvent) symbols per observation (got \(strings.count))")
        }
        var totalBytes = 0
        for (i, s) in strings.enumerated() {
            let n = s.utf8.count
            if n > limits.maxSymbolBytes {
                throw EngineValidationError(field: "strings[\(i)]", reason: "symbol longer than \(limits.maxSymbolBytes) UTF-8 bytes (\(n))")
            }
            totalBytes += n
        }
        if totalBytes > limits.maxObservationBytes {
            throw EngineValidationError(field: "strings", reason: "observation text exceeds \(limits.maxObservationBytes) bytes")
        }
        if vectors.count > limits.maxVectorsPerObservation {
            throw EngineValidationError(field: "vectors", reason: "at most \(limits.maxVectorsPerObservation) vectors (got \(vectors.count))")
        }
        if let first = vectors.first {
            let dim = first.count
            if dim == 0 {
                throw EngineValidationError(field: "vectors[0]", reason: "vector is empty")
            }
            if dim > limits.maxVectorDimension {
                throw EngineValidationError(field: "vectors[0]", reason: "dimension \(dim) exceeds \(limits.maxVectorDimension)")
            }
            for (i, v) in vectors.enumerated() {
                if v.count != dim {
                    throw EngineValidationError(field: "vectors[\(i)]", reason: "dimension \(v.count) differs from vectors[0] dimension \(dim)")
                }
                for (j, x) in v.enumerated() where !x.isFinite {
                    throw EngineValidationError(field: "vectors[\(i)][\(j)]", reason: "must be a finite number")
                }
            }
        }
        if emotives.isEmpty && metadata.isEmpty { return }
        if emotives.count > limits.maxEmotives {
            throw EngineValidationError(field: "emotives", reason: "at most \(limits.maxEmotives) emotives (got \(emotives.count))")
        }
        for key in emotives.keys.sorted() where !(emotives[key]!.isFinite) {
            throw EngineValidationError(field: "emotives.\(key)", reason: "must be a finite number")
        }
        if metadata.count > limits.maxMetadataKeys {
            throw EngineValidationError(field: "metadata", reason: "at most \(limits.maxMetadataKeys) keys (got \(metadata.count))")
        }
        for key in metadata.keys.sorted() where !(metadata[key]!.isFinite) {
            throw EngineValidationError(field: "metadata.\(key)", reason: "numbers must be finite")
        }
    }
}

/// Size limits for one observation; generous defaults that keep a single request from exhausting memory.
///
/// | limit | default |
/// |---|---|
/// | `maxSymbolsPerEvent` | 100 000 strings in one observation |
/// | `maxSymbolBytes` | 1 MiB per symbol (UTF-8) |
/// | `maxObservationBytes` | 16 MiB of symbol text per observation |
/// | `maxVectorsPerObservation` | 10 000 |
/// | `maxVectorDimension` | 65 536 |
/// | `maxEmotives` | 1 000 keys |
/// | `maxMetadataKeys` | 1 000 keys |
public struct ObservationLimits: Sendable, Hashable {
    public var maxSymbolsPerEvent: Int
    public var maxSymbolBytes: Int
    public var maxObservationBytes: Int
    public var maxVectorsPerObservation: Int
    public var maxVectorDimension: Int
    public var maxEmotives: Int
    public var maxMetadataKeys: Int

    public init(
        maxSymbolsPerEvent: Int = 100_000, maxSymbolBytes: Int = 1 << 20, maxObservationBytes: Int = 16 << 20,
        maxVectorsPerObservation: Int = 10_000, maxVectorDimension: Int = 65_536, maxEmotives: Int = 1_000,
        maxMetadataKeys: Int = 1_000
    ) {
        self.maxSymbolsPerEvent = maxSymbolsPerEvent
        self.maxSymbolBytes = maxSymbolBytes
        self.maxObservationBytes = maxObservationBytes
        self.maxVectorsPerObservation = maxVectorsPerObservation
        self.maxVectorDimension = maxVectorDimension
        self.maxEmotives = maxEmotives
        self.maxMetadataKeys = maxMetadataKeys
    }

    /// The documented defaults.
    public static let defaults = ObservationLimits()
}
