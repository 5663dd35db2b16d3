/// Everything one session owns (DESIGN "Fidelity": Q3, Q4, Q5, Q14 fixes): its STM, emotive and
/// metadata accumulators, `time` counter, last predictions and future potentials, and its config.
/// The knowledge base is shared and lives elsewhere (``KnowledgeBase``).
///
/// A plain value: the server stores one per session and passes it `inout` to ``KatoEngine``.
///
/// **Transactions.** A server that must leave a session unchanged when an operation fails (a
/// validation error, cancellation, a deadline, a failed durable write) brackets the operation with
/// ``beginTransaction()`` and ``commitTransaction()`` / ``rollbackTransaction()`` and mutates the
/// state in place: no copy of the STM is made. The undo record costs O(1) per operation: it keeps
/// the STM's and the accumulators' lengths (the engine only appends to them in place, so a rollback
/// truncates) and takes the old arrays only when an operation replaces them (learn, clear,
/// rolling auto-learn), which moves them instead of copying. That is why the three arrays change
/// only through the helpers in this file.
public struct SessionState: Sendable, Hashable, Codable {
    /// The session's genes.
    public var config: EngineConfig
    /// Short-term memory: events, oldest first.
    public fileprivate(set) var stm: [[String]]
    /// Observation counter: +1 on every observe (including ones without symbols); reset by clear-all.
    public internal(set) var time: Int
    /// Emotives of the observations since the last learn / clear.
    public fileprivate(set) var emotivesAccumulator: [[String: Double]]
    /// Metadata of the observations since the last learn / clear.
    public fileprivate(set) var metadataAccumulator: [[String: MetadataValue]]
    /// The predictions computed by the most recent observe (`GET …/predictions`).
    public internal(set) var predictions: [Prediction]
    /// Future potentials of the last computation that found candidates (kept across observes
    /// without candidates and across clear-stm, as KATO does).
    public internal(set) var futurePotentials: FuturePotentials
    /// The most recent observation (KATO's percept data), if any.
    public internal(set) var lastObservation: Observation?
    /// The processed symbols of the most recent observation (KATO's cognition `symbols`).
    public internal(set) var lastSymbols: [String]
    /// The undo record of the open transaction (nil outside one).
    private var journal: Journal?

    /// Everything but the undo record: a session moves between processes (a hand-over, a shared
    /// session store) as these fields, outside any transaction.
    private enum CodingKeys: String, CodingKey {
        case config, stm, time, emotivesAccumulator, metadataAccumulator, predictions, futurePotentials
        case lastObservation, lastSymbols
    }

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

    /// Every field at once, outside any transaction (the binary hand-over form, SessionState+Binary.swift).
    init(
        config: EngineConfig, stm: [[String]], time: Int, emotivesAccumulator: [[String: Double]],
        metadataAccumulator: [[String: MetadataValue]], predictions: [Prediction], futurePotentials: FuturePotentials,
        lastObservation: Observation?, lastSymbols: [String]
    ) {
        self.config = config
        self.stm = stm
        self.time = time
        self.emotivesAccumulator = emotivesAccumulator
        self.metadataAccumulator = metadataAccumulator
        self.predictions = predictions
        self.futurePotentials = futurePotentials
        self.lastObservation = lastObservation
        self.lastSymbols = lastSymbols
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
        replaceSTM(with: [])
        resetAccumulators()
        predictions = []
    }

    /// Drops the oldest events so at most `count` remain: the session-level STM safety limit
    /// (KATO's `max_stm_size`, 1000 events by default), applied by the server after each change.
    /// In place outside a transaction (call it after ``commitTransaction()``).
    public mutating func trimSTM(keepingLast count: Int) {
        guard stm.count > count else { return }
        if journal != nil {
            replaceSTM(with: Array(stm.suffix(count)))
        } else {
            stm.removeFirst(stm.count - count)
        }
    }

    // MARK: The only writes to `stm` and the accumulators

    mutating func appendEvent(_ event: [String]) {
        stm.append(event)
    }

    /// Removes the newest event (the observe that appended it was abandoned).
    mutating func removeLastEvent() {
        if journal != nil, journal!.stm == nil, stm.count <= journal!.stmCount {
            journal!.stm = stm  // removing an event older than the transaction: keep the original
        }
        stm.removeLast()
    }

    mutating func replaceSTM(with events: [[String]]) {
        if journal != nil && journal!.stm == nil { journal!.stm = stm }  // a move: `stm` is overwritten next
        stm = events
    }

    mutating func appendAccumulators(emotives: [String: Double], metadata: [String: MetadataValue]) {
        if !emotives.isEmpty { emotivesAccumulator.append(emotives) }
        if !metadata.isEmpty { metadataAccumulator.append(metadata) }
    }

    mutating func resetAccumulators() {
        if journal != nil && journal!.emotives == nil {
            journal!.emotives = emotivesAccumulator
            journal!.metadata = metadataAccumulator
        }
        emotivesAccumulator = []
        metadataAccumulator = []
    }

    // MARK: Transactions

    private struct Journal: Sendable, Hashable {
        var stmCount: Int
        var emotivesCount: Int
        var metadataCount: Int
        /// The arrays as they were when an operation first replaced them (nil: only appended to,
        /// and removals never went below the counts above).
        var stm: [[String]]?
        var emotives: [[String: Double]]?
        var metadata: [[String: MetadataValue]]?
        /// Fields the engine only ever assigns whole: kept by value (no copy of their storage).
        var config: EngineConfig
        var time: Int
        var predictions: [Prediction]
        var futurePotentials: FuturePotentials
        var lastObservation: Observation?
        var lastSymbols: [String]
    }

    /// Opens a transaction: the changes until ``commitTransaction()`` can be undone with
    /// ``rollbackTransaction()``. Transactions do not nest.
    public mutating func beginTransaction() {
        precondition(journal == nil, "SessionState transactions do not nest")
        journal = Journal(
            stmCount: stm.count, emotivesCount: emotivesAccumulator.count, metadataCount: metadataAccumulator.count,
            config: config, time: time, predictions: predictions, futurePotentials: futurePotentials,
            lastObservation: lastObservation, lastSymbols: lastSymbols)
    }

    /// Keeps the changes made since ``beginTransaction()``.
    public mutating func commitTransaction() {
        journal = nil
    }

    /// Restores the state as it was at ``beginTransaction()``.
    public mutating func rollbackTransaction() {
        guard var j = journal else { return }
        journal = nil
        // Saved arrays were taken when replaced, possibly after appends: their first
        // `…Count` elements are the originals (as are the current arrays' when nothing was saved).
        if let old = j.stm { j.stm = nil; stm = old }
        if let old = j.emotives { j.emotives = nil; emotivesAccumulator = old }
        if let old = j.metadata { j.metadata = nil; metadataAccumulator = old }
        stm.removeSubrange(j.stmCount...)
        emotivesAccumulator.removeSubrange(j.emotivesCount...)
        metadataAccumulator.removeSubrange(j.metadataCount...)
        config = j.config
        time = j.time
        predictions = j.predictions
        futurePotentials = j.futurePotentials
        lastObservation = j.lastObservation
        lastSymbols = j.lastSymbols
    }
}
