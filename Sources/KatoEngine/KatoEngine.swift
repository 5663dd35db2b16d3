/// The KATO v2.0.0 engine: observe, learn and predict against a shared ``KnowledgeBase``, with all
/// per-session state in a ``SessionState`` the caller owns.
///
/// ```swift
/// let engine = KatoEngine(knowledgeBase: KnowledgeBase())
/// var session = try SessionState()
/// _ = try engine.observe(Observation(strings: ["hello"]), in: &session)
/// _ = try engine.observe(Observation(strings: ["world"]), in: &session)
/// let name = engine.learn(in: &session).patternName  // "PTRN|7d0678ba…"
/// ```
///
/// The engine is a value holding a reference to the knowledge base; it is `Sendable` and may be used
/// from many tasks at once, as long as each ``SessionState`` is used by one caller at a time.
/// No I/O, clocks or globals.
public struct KatoEngine: Sendable {
    /// The shared knowledge base of the node.
    public let knowledgeBase: KnowledgeBase
    /// Limits applied to every observation.
    public var limits: ObservationLimits
    /// Threads the caller lends to large predictions (`nil`: every prediction runs on the calling thread).
    public var parallelism: PredictionParallelism? = nil

    public init(knowledgeBase: KnowledgeBase, limits: ObservationLimits = .defaults) {
        self.knowledgeBase = knowledgeBase
        self.limits = limits
    }

    /// Observes one observation (kato-semantics §2, §2.1).
    ///
    /// Atomic: on a validation error or a cancellation the session is unchanged, and nothing was
    /// written to the knowledge base (predictions are computed before any auto-learn).
    ///
    /// - Parameter shouldContinue: polled during the prediction computation; returning `false`
    ///   abandons the observation with ``EngineCancelledError``.
    /// - Throws: ``EngineValidationError`` or ``EngineCancelledError``.
    @discardableResult
    public func observe(
        _ observation: Observation, in session: inout SessionState, shouldContinue: () -> Bool = { true }
    ) throws -> ObserveResult {
        try observation.validate(limits: limits)

        var vectorSymbols: [String] = []
        if let first = observation.vectors.first {
            var sum = first
            for v in observation.vectors.dropFirst() {
                for i in sum.indices { sum[i] += v[i] }
            }
            vectorSymbols = [Naming.vectorSymbol(sum)]
        }
        var strings = observation.strings
        if session.config.sortSymbols && strings.count > 1 { strings.sort(by: codePointLess) }
        let symbols = vectorSymbols.isEmpty ? strings : vectorSymbols + strings
        let hasInput = !observation.strings.isEmpty || !observation.vectors.isEmpty

        // The only step that can fail from here on is the prediction computation (cancellation); the STM
        // append is undone then, so the session is unchanged.
        var output: Predictor.Output? = nil
        if hasInput {
            session.appendEvent(symbols)
            if session.config.processPredictions && Self.holdsTwoSymbols(session.stm) {
                do {
                    output = try Predictor(
                        kb: knowledgeBase.view(), stm: session.stm, recallThreshold: session.config.recallThreshold,
                        maxPredictions: session.config.maxPredictions, parallelism: parallelism
                    ).run(shouldContinue: shouldContinue)
                } catch {
                    session.removeLastEvent()
                    throw error
                }
            }
        }
        session.time += 1
        session.lastObservation = observation
        session.lastSymbols = symbols
        session.appendAccumulators(emotives: observation.emotives, metadata: observation.metadata)
        var autoLearned: String? = nil
        if hasInput {
            if let output {
                session.predictions = output.predictions
                if let fp = output.futurePotentials { session.futurePotentials = fp }
            } else {
                session.predictions = []
            }
            autoLearned = autoLearn(&session)
        } else {
            session.predictions = []
        }
        return ObserveResult(
            stmLength: session.stm.count, time: session.time, autoLearnedPattern: autoLearned,
            symbols: symbols, predictionsComputed: output != nil)
    }

    /// Auto-learn (kato-semantics §2.1) with the Q15 fix: ROLLING keeps exactly the last
    /// `max_pattern_length − 1` events.
    private func autoLearn(_ session: inout SessionState) -> String? {
        guard isAutoLearnDue(session) else { return nil }
        let name = performAutoLearn(in: &session).patternName
        return name.isEmpty ? nil : name
    }

    /// Learns the STM as a pattern (kato-semantics §3). The STM and the accumulators are always cleared;
    /// nothing is stored when the STM holds fewer than 2 symbols (`patternName` is then `""`).
    /// The emotive window size is the session's current `persistence` (Q7 fix).
    @discardableResult
    public func learn(in session: inout SessionState) -> LearnResult {
        let events = session.stm
        session.replaceSTM(with: [])
        let emotives = session.emotivesAccumulator
        let metadata = session.metadataAccumulator
        session.resetAccumulators()
        let length = events.reduce(0) { $0 + $1.count }
        guard length > 1 else { return LearnResult(patternName: "", outcome: nil) }
        let outcome = knowledgeBase.learn(
            events: events, emotives: Accumulation.averageEmotives(emotives),
            metadata: Accumulation.accumulateMetadata(metadata), persistence: session.config.persistence)
        return LearnResult(patternName: outcome.publicName, outcome: outcome)
    }

    /// Observes a batch (kato-semantics §2.2). All observations are validated first; a validation error
    /// changes nothing. Cancellation is checked before each observation and inside predictions; on
    /// cancellation the session keeps the observations already processed.
    ///
    /// - Parameter onChange: called after every STM change (each observe, each learn, each
    ///   clear between observations) with the session as it is then — the server publishes
    ///   one prediction update per change.
    public func observeSequence(
        _ observations: [Observation], options: SequenceOptions = .init(), in session: inout SessionState,
        shouldContinue: () -> Bool = { true }, onChange: (SequenceChange, SessionState) -> Void = { _, _ in }
    ) throws -> SequenceResult {
        // One implementation of the sequence semantics: the deferred-learn variant, with every
        // learn performed right here.
        try observeSequence(
            observations, options: options, in: &session, shouldContinue: shouldContinue, onChange: onChange
        ) { state, trigger in
            trigger == .auto ? performAutoLearn(in: &state).patternName : learn(in: &state).patternName
        }
    }

    /// Clears the session's STM, accumulators and cached predictions (future potentials are kept, as KATO does).
    public func clearSTM(in session: inout SessionState) {
        session.clearSTM()
    }

    /// Wipes the whole knowledge base of the node and resets the session (STM, accumulators,
    /// predictions, `time`).
    public func clearAll(in session: inout SessionState) {
        knowledgeBase.clear()
        session.clearSTM()
        session.time = 0
    }

    /// The pattern with this name (`PTRN|` optional), or `nil`.
    public func pattern(named name: String) -> Pattern? {
        knowledgeBase.pattern(named: name)
    }

    /// Recomputes predictions for the session's current STM without changing anything
    /// (useful for servers that fix Q5 by recomputing on read).
    public func computePredictions(
        for session: SessionState, shouldContinue: () -> Bool = { true }
    ) throws -> (predictions: [Prediction], futurePotentials: FuturePotentials) {
        guard Self.holdsTwoSymbols(session.stm) else { return ([], session.futurePotentials) }
        let output = try Predictor(
            kb: knowledgeBase.view(), stm: session.stm, recallThreshold: session.config.recallThreshold,
            maxPredictions: session.config.maxPredictions, parallelism: parallelism
        ).run(shouldContinue: shouldContinue)
        return (output.predictions, output.futurePotentials ?? session.futurePotentials)
    }

    /// Whether the events hold at least two symbols in all (KATO predicts from two on); stops
    /// counting there instead of walking a long STM.
    static func holdsTwoSymbols(_ stm: [[String]]) -> Bool {
        var count = 0
        for event in stm {
            count += event.count
            if count >= 2 { return true }
        }
        return false
    }
}
