/// A learned pattern as stored in a knowledge base (kato-semantics §1.4).
public struct Pattern: Sendable, Hashable {
    /// The bare 40-hex sha1 (no `PTRN|` prefix).
    public var name: String
    /// The events exactly as they were in the STM when first learned.
    public var events: [[String]]
    /// Total number of symbols.
    public var length: Int
    /// Number of times learned.
    public var frequency: Int
    /// Rolling window of per-learn emotive averages (newest last, at most `persistence` entries), or
    /// `nil` while the pattern has never been learned with emotives (KATO stores `{}` then).
    public var emotives: [[String: Double]]?
    /// Metadata key → unique `str` values, in insertion order.
    public var metadata: [String: [String]]

    public init(
        name: String, events: [[String]], length: Int, frequency: Int,
        emotives: [[String: Double]]?, metadata: [String: [String]]
    ) {
        self.name = name
        self.events = events
        self.length = length
        self.frequency = frequency
        self.emotives = emotives
        self.metadata = metadata
    }

    /// `PTRN|<name>`.
    public var publicName: String { Naming.publicName(name) }
}

/// Per-symbol statistics (kato-semantics §1.5), counted again on every re-learn (Q19).
public struct SymbolStats: Sendable, Hashable {
    /// Total occurrences over all learn events.
    public var frequency: Int
    /// Number of learn events whose pattern contained the symbol.
    public var patternMemberFrequency: Int
    /// Running sums of the learned (non-zero) emotive averages.
    public var emotives: [String: Double]

    public init(frequency: Int = 0, patternMemberFrequency: Int = 0, emotives: [String: Double] = [:]) {
        self.frequency = frequency
        self.patternMemberFrequency = patternMemberFrequency
        self.emotives = emotives
    }
}

/// Knowledge-base totals (the `metadata` "totals" document of KATO).
public struct KnowledgeBaseTotals: Sendable, Hashable {
    public var totalPatternFrequencies: Int
    public var totalSymbolFrequencies: Int
    public var totalSymbolsInPatternsFrequencies: Int

    public init(totalPatternFrequencies: Int = 0, totalSymbolFrequencies: Int = 0, totalSymbolsInPatternsFrequencies: Int = 0) {
        self.totalPatternFrequencies = totalPatternFrequencies
        self.totalSymbolFrequencies = totalSymbolFrequencies
        self.totalSymbolsInPatternsFrequencies = totalSymbolsInPatternsFrequencies
    }
}

/// The result of one learn event on a knowledge base.
public struct LearnOutcome: Sendable, Hashable {
    /// The bare pattern hash.
    public var name: String
    /// Whether this learn inserted a new pattern (false: the frequency of an existing one grew).
    public var isNew: Bool
    /// The pattern's frequency after this learn.
    public var frequency: Int

    /// `PTRN|<name>`.
    public var publicName: String { Naming.publicName(name) }
}

/// A complete, restorable copy of a knowledge base (patterns in learn order plus statistics).
public struct KnowledgeBaseSnapshot: Sendable, Hashable {
    public var patterns: [Pattern]
    public var symbols: [String: SymbolStats]
    public var totals: KnowledgeBaseTotals

    public init(patterns: [Pattern] = [], symbols: [String: SymbolStats] = [:], totals: KnowledgeBaseTotals = .init()) {
        self.patterns = patterns
        self.symbols = symbols
        self.totals = totals
    }
}
