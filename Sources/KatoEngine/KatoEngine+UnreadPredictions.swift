/// Predictions nobody can read (issue 15). In an observe-sequence, every observation replaces the
/// session's `predictions` (with its own, or `[]`), so when no one sees the states in between (no
/// subscriber) only the last observation's predictions can ever be read. `future_potentials` are
/// different: an observation whose predictions find no pattern leaves them as they were (Q5), so
/// an earlier observation's can survive; they are then computed backwards, from the last
/// observation to the first, until one finds a pattern — the same value the forward run leaves.
///
/// Exact only while nothing between the observations writes the knowledge base or resets the STM
/// (no learn after each, no clear between, no auto-learn): the STM then only grows, each
/// observation's STM is a prefix of the last one's, and all of them are predicted against one
/// snapshot of the knowledge base — as a forward run does when no other session learns meanwhile
/// (a schedule every run may take: the sequence is atomic for its session, not for the node).
/// `learn_at_end` comes after the last observation's predictions, as before.
enum UnreadPredictions {
    static func applies(options: SequenceOptions, config: EngineConfig) -> Bool {
        config.processPredictions && config.maxPatternLength == 0 && !options.learnAfterEach && !options.clearSTMBetween
    }

    /// The sequence with predictions only where they can be read. On an error the session may keep
    /// the observations without their predictions: callers undo the whole sequence then.
    static func observeSequence(
        _ engine: KatoEngine, _ observations: [Observation], options: SequenceOptions, in session: inout SessionState,
        shouldContinue: () -> Bool, onChange: (SequenceChange, SessionState) -> Void,
        learner: (inout SessionState, KatoEngine.LearnTrigger) throws -> String?
    ) throws -> SequenceResult {
        var withoutLearn = options
        withoutLearn.learnAtEnd = false
        session.config.processPredictions = false  // observe then leaves `[]` and the potentials as they were
        var result: SequenceResult
        do {
            result = try engine.observeSequenceStepwise(
                observations, options: withoutLearn, in: &session, shouldContinue: shouldContinue, onChange: onChange,
                learner: learner)
            session.config.processPredictions = true
        } catch {
            session.config.processPredictions = true
            throw error
        }
        // The STM's length after each observation that appended an event, last first.
        let lengths = zip(observations, result.results).reversed().compactMap { o, item in
            o.strings.isEmpty && o.vectors.isEmpty ? nil : item.stmLength
        }
        let lastAppended = observations.last.map { !$0.strings.isEmpty || !$0.vectors.isEmpty } ?? false
        let kb = engine.knowledgeBase.view()
        for (i, length) in lengths.enumerated() {
            let stm = length == session.stm.count ? session.stm : Array(session.stm.prefix(length))
            guard KatoEngine.holdsTwoSymbols(stm) else { break }  // nor does any shorter prefix
            let output = try Predictor(
                kb: kb, stm: stm, recallThreshold: session.config.recallThreshold,
                maxPredictions: session.config.maxPredictions, parallelism: engine.parallelism
            ).run(shouldContinue: shouldContinue)
            // Only the last observation's own predictions stay; a later one without input cleared them.
            if i == 0 && lastAppended { session.predictions = output.predictions }
            if let fp = output.futurePotentials {
                session.futurePotentials = fp
                break
            }
        }
        if options.learnAtEnd && !session.stm.isEmpty && !observations.isEmpty {
            let name = try learner(&session, .requested) ?? ""
            onChange(.learn, session)
            result.finalLearnedPattern = name
            result.autoLearnedPatterns.append(name)
            result.finalSTMLength = session.stm.count
        }
        return result
    }
}
