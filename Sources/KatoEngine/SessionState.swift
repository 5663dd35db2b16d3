/// Everything one session owns (DESIGN "Fidelity": Q3, Q4, Q5, Q14 fixes): its STM, emotive and
/// metadata accumulators, `time` counter, last predictions and future potentials, and its config.
/// The knowledge base is shared and lives elsewhere (``KnowledgeBase``).
///
/// A plain value: the server stores one per session and passes it `inout` to ``KatoEngine``.
public struct SessionState: Sendable, Hashable {
    /// The session's genes.
    public var config: EngineConfig
    /// Short-term memory: events, oldest first.
    public internal(set) var stm: [[String]]
    /// Observation counter: +1 on every observe (including ones without symbols); reset by clear-all.
    public internal(set) var time: Int
    /// Emotives of the observations since the last learn / clear.
    public internal(set) var emotivesAccumulator: [[String: Double]]
    /// Metadata of the observations since the last learn / clear.
    public internal(set) var metadataAccumulator: [[String: MetadataValue]]
    /// The predictions computed by the most recent observe (`GET …/predictions`).
    public internal(set) var predictions: [Prediction]
    /// Future potentials of the last computation that found candidates (kept across observes
    /// without candidates and across clear-stm, as KATO does).
    public internal(set) var futurePotentials: [FuturePotential]
    /// The most recent observation (KATO's percept data), if any.
    public internal(set) var lastObservation: Observation?
    /// The processed symbols of the most recent observation (KATO's cognition `symbols`).
    public internal(set) var lastSymbols: [String]

    /// A fresh session with `config` (validated).
    public init(config: EngineConfig = .defaults) throws(EngineValidationError) {
        try config.validate()
        self.config = config
        stm = []
        time = 0
        emotivesAccumulator = []
        metadataAccumulator = []
        predictions = []
        futurePotentials = []
        lastObservation = nil
        lastSymbols = []
    }

    /// The STM flattened into one list of symbols.
    public var state: [String] { stm.flatMap { $0 } }

    /// `average_emotives` of the accumulator (KATO's "current emotives").
    public var currentEmotives: [String: Double] { Accumulation.averageEmotives(emotivesAccumulator) }

    /// Applies a config change atomically (nothing changes if it throws).
    public mutating func updateConfig(_ update: ConfigUpdate) throws(EngineValidationError) {
        config = try config.applying(update)
    }

    mutating func clearSTM() {
        stm = []
        emotivesAccumulator = []
        metadataAccumulator = []
        predictions = []
    }
}
