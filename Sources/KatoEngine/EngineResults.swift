/// What an observe did (KATO's `ObservationResult` minus transport fields).
public struct ObserveResult: Sendable, Hashable {
    /// Events in the STM after the call (after any auto-learn).
    public var stmLength: Int
    /// The session's observation counter after the call.
    public var time: Int
    /// `PTRN|…` when this observation triggered an auto-learn that stored a pattern.
    public var autoLearnedPattern: String?
    /// The processed symbols of this observation (vector symbols first, then the strings).
    public var symbols: [String]
    /// Whether predictions were computed (STM ≥ 2 symbols and `process_predictions`).
    public var predictionsComputed: Bool
}

/// What a learn did.
public struct LearnResult: Sendable, Hashable {
    /// `PTRN|…`, or `""` when the STM held fewer than 2 symbols (nothing learned).
    public var patternName: String
    /// The knowledge-base outcome, when a pattern was stored.
    public var outcome: LearnOutcome?
}

/// Options of an observe-sequence call (kato-semantics §2.2).
public struct SequenceOptions: Sendable, Hashable {
    public var learnAfterEach: Bool
    public var learnAtEnd: Bool
    public var clearSTMBetween: Bool

    public init(learnAfterEach: Bool = false, learnAtEnd: Bool = false, clearSTMBetween: Bool = false) {
        self.learnAfterEach = learnAfterEach
        self.learnAtEnd = learnAtEnd
        self.clearSTMBetween = clearSTMBetween
    }
}

/// The result of an observe-sequence call.
public struct SequenceResult: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var sequencePosition: Int
        public var stmLength: Int
        public var time: Int
        public var autoLearnedPattern: String?
        /// The processed symbols of this observation (vector symbols first, then the strings).
        public var symbols: [String]
    }

    public var observationsProcessed: Int
    public var initialSTMLength: Int
    public var finalSTMLength: Int
    /// Names in order: per observation the learn-after-each name (possibly `""`) then the auto-learned
    /// name, and finally the learn-at-end name.
    public var autoLearnedPatterns: [String]
    public var finalLearnedPattern: String?
    public var results: [Item]
}

/// What changed the STM during an observe-sequence (see `KatoEngine.observeSequence`).
public enum SequenceChange: Sendable, Hashable {
    case observe
    case autoLearn
    case learn
    case clearSTM
}
