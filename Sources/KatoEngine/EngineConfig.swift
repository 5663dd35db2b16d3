/// How the short-term memory is treated after an auto-learn (KATO gene `stm_mode`).
public enum STMMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The STM is emptied after an auto-learn.
    case clear = "CLEAR"
    /// The STM keeps its last `max_pattern_length − 1` events after an auto-learn.
    case rolling = "ROLLING"

    /// Parses a gene value; unknown modes are rejected (KATO silently used `CLEAR`; Q17 fix).
    public init(validating raw: String) throws(EngineValidationError) {
        guard let mode = STMMode(rawValue: raw) else {
            throw EngineValidationError(field: "stm_mode", reason: "must be one of CLEAR, ROLLING (got \(raw))")
        }
        self = mode
    }
}

/// The vector indexer (KATO gene `indexer_type`). Only `VI` has behaviour; the others are accepted names.
public enum IndexerType: String, Sendable, Hashable, CaseIterable, Codable {
    case vi = "VI", lsh = "LSH", annoy = "ANNOY", faiss = "FAISS"

    /// Parses a gene value, rejecting unknown names.
    public init(validating raw: String) throws(EngineValidationError) {
        guard let type = IndexerType(rawValue: raw) else {
            throw EngineValidationError(field: "indexer_type", reason: "must be one of VI, LSH, ANNOY, FAISS (got \(raw))")
        }
        self = type
    }
}

/// The per-session engine parameters ("genes") with KATO v2.0.0's defaults (kato-semantics §5.1).
///
/// Ranges are enforced by ``validate()``; kato rejects invalid values instead of silently rolling them
/// back or coercing them (Q17 fix).
public struct EngineConfig: Sendable, Hashable, Codable {
    /// Auto-learn when the STM holds at least this many events; `0` means manual learning only. Range ≥ 0.
    public var maxPatternLength: Int
    /// Size of each pattern's emotive window. Range 1…100.
    public var persistence: Int
    /// Minimum similarity (inclusive) for a pattern to be predicted. Range 0.0…1.0.
    public var recallThreshold: Double
    /// STM handling after an auto-learn.
    public var stmMode: STMMode
    /// Vector indexer name (only `VI` has an effect; every value works for vectors — Q21 fix).
    public var indexerType: IndexerType
    /// Maximum number of predictions kept after ranking. Range 1…10000.
    public var maxPredictions: Int
    /// Sort vector symbols and string symbols (separately) inside each event (manifest key `sort`).
    public var sortSymbols: Bool
    /// Compute predictions during observe.
    public var processPredictions: Bool

    /// Creates a configuration; every parameter defaults to KATO's system default.
    public init(
        maxPatternLength: Int = 0, persistence: Int = 5, recallThreshold: Double = 0.1,
        stmMode: STMMode = .clear, indexerType: IndexerType = .vi, maxPredictions: Int = 100,
        sortSymbols: Bool = true, processPredictions: Bool = true
    ) {
        self.maxPatternLength = maxPatternLength
        self.persistence = persistence
        self.recallThreshold = recallThreshold
        self.stmMode = stmMode
        self.indexerType = indexerType
        self.maxPredictions = maxPredictions
        self.sortSymbols = sortSymbols
        self.processPredictions = processPredictions
    }

    /// KATO v2.0.0's system defaults.
    public static let defaults = EngineConfig()

    /// Throws an ``EngineValidationError`` naming the first out-of-range parameter.
    public func validate() throws(EngineValidationError) {
        if maxPatternLength < 0 {
            throw EngineValidationError(field: "max_pattern_length", reason: "must be >= 0 (got \(maxPatternLength))")
        }
        if !(1...100).contains(persistence) {
            throw EngineValidationError(field: "persistence", reason: "must be in 1...100 (got \(persistence))")
        }
        if !recallThreshold.isFinite || recallThreshold < 0 || recallThreshold > 1 {
            throw EngineValidationError(field: "recall_threshold", reason: "must be in 0.0...1.0 (got \(recallThreshold))")
        }
        if !(1...10_000).contains(maxPredictions) {
            throw EngineValidationError(field: "max_predictions", reason: "must be in 1...10000 (got \(maxPredictions))")
        }
    }

    /// Returns a copy with `update` applied, validated as a whole (nothing changes when it throws).
    public func applying(_ update: ConfigUpdate) throws(EngineValidationError) -> EngineConfig {
        var next = self
        if let v = update.maxPatternLength { next.maxPatternLength = v }
        if let v = update.persistence { next.persistence = v }
        if let v = update.recallThreshold { next.recallThreshold = v }
        if let v = update.stmMode { next.stmMode = v }
        if let v = update.indexerType { next.indexerType = v }
        if let v = update.maxPredictions { next.maxPredictions = v }
        if let v = update.sortSymbols { next.sortSymbols = v }
        if let v = update.processPredictions { next.processPredictions = v }
        try next.validate()
        return next
    }
}

/// A partial configuration change: `nil` fields keep their current value.
public struct ConfigUpdate: Sendable, Hashable {
    public var maxPatternLength: Int?
    public var persistence: Int?
    public var recallThreshold: Double?
    public var stmMode: STMMode?
    public var indexerType: IndexerType?
    public var maxPredictions: Int?
    public var sortSymbols: Bool?
    public var processPredictions: Bool?

    public init(
        maxPatternLength: Int? = nil, persistence: Int? = nil, recallThreshold: Double? = nil,
        stmMode: STMMode? = nil, indexerType: IndexerType? = nil, maxPredictions: Int? = nil,
        sortSymbols: Bool? = nil, processPredictions: Bool? = nil
    ) {
        self.maxPatternLength = maxPatternLength
        self.persistence = persistence
        self.recallThreshold = recallThreshold
        self.stmMode = stmMode
        self.indexerType = indexerType
        self.maxPredictions = maxPredictions
        self.sortSymbols = sortSymbols
        self.processPredictions = processPredictions
    }
}
