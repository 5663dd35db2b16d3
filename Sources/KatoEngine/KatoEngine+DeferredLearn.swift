/// Observe and observe-sequence with every knowledge-base write handed to the caller, so a server
/// can make each learn durable (or skip it while degraded) without the engine doing I/O.
/// Results are exactly those of ``KatoEngine/observe(_:in:shouldContinue:)`` and
/// ``KatoEngine/observeSequence(_:options:in:shouldContinue:)`` when the callbacks call
/// ``KatoEngine/performAutoLearn(in:)`` and ``KatoEngine/learn(in:)``.
extension KatoEngine {
    /// Why a sequence asks for a learn.
    public enum LearnTrigger: Sendable, Hashable {
        /// `max_pattern_length` reached (auto-learn).
        case auto
        /// `learn_after_each` or `learn_at_end`.
        case requested
    }

    /// Observes like ``observe(_:in:shouldContinue:)``, but when an auto-learn is due it calls
    /// `autoLearn` instead, which returns the learned `PTRN|…` name (usually
    /// `performAutoLearn(in:).patternName`) or nil when it skipped the learn.
    public func observe(
        _ observation: Observation, in session: inout SessionState, shouldContinue: () -> Bool = { true },
        autoLearn: (inout SessionState) throws -> String?
    ) throws -> ObserveResult {
        let maximum = session.config.maxPatternLength
        session.config.maxPatternLength = 0
        var result: ObserveResult
        do {
            result = try observe(observation, in: &session, shouldContinue: shouldContinue)
            session.config.maxPatternLength = maximum
        } catch {
            session.config.maxPatternLength = maximum
            throw error
        }
        let hasInput = !observation.strings.isEmpty || !observation.vectors.isEmpty
        if hasInput && isAutoLearnDue(session) {
            let name = try autoLearn(&session)
            result.autoLearnedPattern = (name?.isEmpty ?? true) ? nil : name
            result.stmLength = session.stm.count
        }
        return result
    }

    /// Whether the STM reached `max_pattern_length` (an auto-learn is due).
    public func isAutoLearnDue(_ session: SessionState) -> Bool {
        let maximum = session.config.maxPatternLength
        return maximum > 0 && session.stm.count >= maximum
    }

    /// The auto-learn ``observe(_:in:shouldContinue:)`` performs (with the Q15 fix: ROLLING keeps
    /// exactly the last `max_pattern_length − 1` events).
    public func performAutoLearn(in session: inout SessionState) -> LearnResult {
        let length = session.stm.count
        let maximum = session.config.maxPatternLength
        var keep: [[String]] = []
        if length > 1 && session.config.stmMode == .rolling {
            let window = maximum - 1
            if window > 0 {
                keep = length > window ? Array(session.stm.suffix(window)) : Array(session.stm.dropFirst())
            }
        }
        let result = learn(in: &session)
        if !keep.isEmpty { session.replaceSTM(with: keep) }
        return result
    }

    /// Observes a batch like ``observeSequence(_:options:in:shouldContinue:)``, calling `learner`
    /// for every learn: it returns the `PTRN|…` name ("" when nothing was stored), or nil when it
    /// skipped an auto-learn.
    ///
    /// - Parameter observedSteps: `false` when nothing reads the states passed to `onChange`
    ///   (no subscriber) and the caller undoes the whole sequence on an error: predictions that a
    ///   later observation of the batch overwrites are then not computed (``UnreadPredictions``);
    ///   the session ends exactly as with `true`.
    public func observeSequence(
        _ observations: [Observation], options: SequenceOptions = .init(), in session: inout SessionState,
        shouldContinue: () -> Bool = { true }, onChange: (SequenceChange, SessionState) -> Void = { _, _ in },
        observedSteps: Bool = true,
        learner: (inout SessionState, LearnTrigger) throws -> String?
    ) throws -> SequenceResult {
        for (i, o) in observations.enumerated() {
            do {
                try o.validate(limits: limits)
            } catch {
                throw EngineValidationError(field: "observations[\(i)].\(error.field)", reason: error.reason)
            }
        }
        if !observedSteps, UnreadPredictions.applies(options: options, config: session.config) {
            return try UnreadPredictions.observeSequence(
                self, observations, options: options, in: &session, shouldContinue: shouldContinue, onChange: onChange,
                learner: learner)
        }
        return try observeSequenceStepwise(
            observations, options: options, in: &session, shouldContinue: shouldContinue, onChange: onChange, learner: learner)
    }

    /// The sequence as KATO runs it: observe after observe, each with its predictions.
    func observeSequenceStepwise(
        _ observations: [Observation], options: SequenceOptions, in session: inout SessionState,
        shouldContinue: () -> Bool, onChange: (SequenceChange, SessionState) -> Void,
        learner: (inout SessionState, LearnTrigger) throws -> String?
    ) throws -> SequenceResult {
        let initial = session.stm.count
        var names: [String] = []
        var items: [SequenceResult.Item] = []
        for (i, o) in observations.enumerated() {
            if !shouldContinue() { throw EngineCancelledError() }
            if options.clearSTMBetween && i > 0 {
                session.clearSTM()
                onChange(.clearSTM, session)
            }
            let r = try observe(o, in: &session, shouldContinue: shouldContinue) { s in try learner(&s, .auto) }
            onChange(r.autoLearnedPattern == nil ? .observe : .autoLearn, session)
            if options.learnAfterEach && !session.stm.isEmpty {
                names.append(try learner(&session, .requested) ?? "")
                onChange(.learn, session)
            }
            if let auto = r.autoLearnedPattern { names.append(auto) }
            items.append(.init(
                sequencePosition: i, stmLength: session.stm.count, time: session.time,
                autoLearnedPattern: r.autoLearnedPattern, symbols: r.symbols))
        }
        var final: String? = nil
        if options.learnAtEnd && !session.stm.isEmpty && !observations.isEmpty {
            let name = try learner(&session, .requested) ?? ""
            onChange(.learn, session)
            final = name
            names.append(name)
        }
        return SequenceResult(
            observationsProcessed: observations.count, initialSTMLength: initial,
            finalSTMLength: session.stm.count, autoLearnedPatterns: names, finalLearnedPattern: final,
            results: items)
    }
}
