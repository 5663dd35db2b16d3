import GRPCH2
import KatoEngine
import KatoProto
import KatoStore
import KatoSupport
import Metrics
import Synchronization

/// `kato.v2.ObserveService`.
struct ObserveService: ServiceProvider {
    let sessions: SessionRegistry
    /// The feature flags in force (read per call).
    var flags = LiveFlags()
    var serviceName: String { Kato_V2_ObserveService.serviceName }

    var methods: [ServerMethod] {
        [
            unary(Kato_V2_ObserveService.observe) { request, context in
                try await observe(request, position: 0, context: context)
            },
            unary(Kato_V2_ObserveService.observeSequence) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, context) {
                    let session = try CallSupport.serve(context) {
                        try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .write, context)
                    }
                    try await sessions.nodes.awaitCurrent(session.nodeID, context)
                    let (response, tickets) = try await sessions.nodes.writing(session.nodeID, context, "the sequence's learns") {
                        try CallSupport.serve(context) { try observeSequence(request, session: session, context: context) }
                    }
                    try await Durability.awaitDurable(tickets, context, "the sequence's learns (the observations were applied)")
                    return response
                }
            },
            .bidirectionalStreaming(Kato_V2_ObserveService.observeStream) { requests, writer, context in
                // One acknowledgement per observation, in order. The first failing observation
                // ends the stream with its status (observations before it stay applied).
                var position: Int64 = 0
                for try await request in requests {
                    let ack = try await observe(request, position: position, context: context)
                    try await writer.write(ack)
                    position += 1
                }
            },
            unary(Kato_V2_ObserveService.getShortTermMemory) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
                    try CallSupport.serve(context) {
                        let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                        return try session.read { _, state in
                            var m = Kato_V2_ShortTermMemory()
                            m.sessionID = session.publicID
                            m.events = Convert.events(state.stm)
                            m.length = Int64(state.stm.count)
                            return m
                        }
                    }
                }
            },
            unary(Kato_V2_ObserveService.clearShortTermMemory) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
                    try CallSupport.serve(context) {
                        let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .write, context)
                        try session.mutate { engine, state in (engine.clearSTM(in: &state), .clearStm) }
                        var m = Kato_V2_ClearShortTermMemoryResponse()
                        m.status = "cleared"
                        m.sessionID = session.publicID
                        return m
                    }
                }
            },
            unary(Kato_V2_ObserveService.learn) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, context) {
                    let session = try CallSupport.serve(context) {
                        try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .write, context)
                    }
                    let (response, ticket) = try await sessions.nodes.writing(session.nodeID, context, "the learn") {
                        try CallSupport.serve(context) {
                            try Durability.checkWrites(sessions.nodes.level)
                            let node = sessions.nodes.durable(for: session.nodeID)
                            let (name, events, ticket) = try session.mutate { engine, state -> ((String, Int, DurabilityTicket?), Kato_V2_UpdateCause?) in
                                guard !state.stm.isEmpty else { throw KatoError.emptySTM }
                                let events = state.stm.count
                                let (result, ticket) = try node.recordLearn { engine.learn(in: &state) }
                                return ((result.patternName, events, ticket), .learn)
                            }
                            if !name.isEmpty { KatoMetrics.patternsLearned.increment() }
                            var m = Kato_V2_LearnResponse()
                            m.status = "learned"
                            m.sessionID = session.publicID
                            m.patternName = name
                            m.message = name.isEmpty
                                ? "Nothing learned: the STM held fewer than 2 symbols (\(events) events)"
                                : "Learned pattern \(name) from \(events) events"
                            return (m, ticket)
                        }
                    }
                    // Acknowledged only once the pattern is on disk.
                    try await Durability.awaitDurable(ticket.map { [$0] } ?? [], context, "the learn of \(response.patternName)")
                    return response
                }
            },
            unary(Kato_V2_ObserveService.clearAllMemory) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, context) {
                    let session = try CallSupport.serve(context) {
                        try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .clearAll, context)
                    }
                    let (response, ticket) = try await sessions.nodes.writing(session.nodeID, context, "the clear of the knowledge base") {
                        try CallSupport.serve(context) {
                            try Durability.checkWrites(sessions.nodes.level)
                            let node = sessions.nodes.durable(for: session.nodeID)
                            let ticket = try session.mutate { engine, state in
                                (try node.recordClear { engine.clearAll(in: &state) }, .clearAll)
                            }
                            var m = Kato_V2_ClearAllMemoryResponse()
                            m.status = "cleared"
                            m.sessionID = session.publicID
                            m.nodeID = session.nodeID
                            m.scope = "all"
                            return (m, ticket)
                        }
                    }
                    try await Durability.awaitDurable(ticket.map { [$0] } ?? [], context, "the clear of the knowledge base")
                    return response
                }
            },
        ]
    }

    /// An observe; when it auto-learned, it answers only once the pattern is on disk.
    private func observe(_ request: Kato_V2_ObserveRequest, position: Int64, context: ServerContext) async throws -> Kato_V2_ObserveResponse {
        let response = try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
            try await observeLeased(request, position: position, context: context)
        }
        // Counted once the observation holds (a speculative run may be repeated, SCALING.md).
        KatoMetrics.observations.increment()
        if !response.autoLearnedPattern.isEmpty { KatoMetrics.patternsLearned.increment() }
        return response
    }

    private func observeLeased(_ request: Kato_V2_ObserveRequest, position: Int64, context: ServerContext) async throws -> Kato_V2_ObserveResponse {
        let response: Kato_V2_ObserveResponse, ticket: DurabilityTicket?
        if sessions.nodes.replicated == nil {
            (response, ticket) = try CallSupport.serve(context) { try observeInMemory(request, position: position, context: context) }
        } else {
            // Shared knowledge base: predict from everything committed before the call, and hold
            // the node's write lock when this observation may auto-learn.
            let session = try CallSupport.serve(context) {
                try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .write, context)
            }
            try await sessions.nodes.awaitCurrent(session.nodeID, context)
            let mayLearn = try CallSupport.serve(context) { try session.read { _, state in state.config.maxPatternLength > 0 } }
            let run = { try CallSupport.serve(context) { try observeInMemory(request, position: position, context: context) } }
            (response, ticket) = mayLearn ? try await sessions.nodes.writing(session.nodeID, context, "the auto-learn", run) : try run()
        }
        try await Durability.awaitDurable(
            ticket.map { [$0] } ?? [], context, "the auto-learn of \(response.autoLearnedPattern) (the observation was applied)")
        return response
    }

    private func observeInMemory(
        _ request: Kato_V2_ObserveRequest, position: Int64, context: ServerContext
    ) throws -> (Kato_V2_ObserveResponse, DurabilityTicket?) {
        let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .write, context)
        let observation = try Convert.observation(
            strings: request.strings, vectors: request.vectors, emotives: request.emotives, metadata: request.metadata)
        let shouldContinue = CallSupport.shouldContinue(context)
        let level = sessions.nodes.level
        try flags.checkEmotives(!observation.emotives.isEmpty)
        try Durability.checkEmotives(level, [observation])
        let autoLearn = flags.autoLearn
        let node = sessions.nodes.durable(for: session.nodeID)
        var ticket: DurabilityTicket?
        var skipped = false
        let result = try session.mutate { engine, state in
            let started = CallClock.now()
            let r = try engine.observe(observation, in: &state, shouldContinue: shouldContinue) { s in
                guard level.allowsAutoLearn, autoLearn else {
                    skipped = true
                    return nil
                }
                let (learned, t) = try node.recordLearn { engine.performAutoLearn(in: &s) }
                ticket = t
                return learned.patternName
            }
            KatoMetrics.predictionSeconds.recordNanoseconds(CallClock.now() - started)
            return (r, r.autoLearnedPattern == nil ? .observe : .autoLearn)
        }
        var m = Kato_V2_ObserveResponse()
        m.status = "okay"
        m.sessionID = session.publicID
        m.nodeID = session.nodeID
        m.stmLength = Int64(result.stmLength)
        m.time = Int64(result.time)
        m.uniqueID = request.uniqueID.isEmpty ? Self.observationID(prefix: "obs-") : request.uniqueID
        m.autoLearnedPattern = result.autoLearnedPattern ?? ""
        m.symbols = result.symbols
        m.sequencePosition = position
        m.autoLearnSkipped = skipped
        return (m, ticket)
    }

    private func observeSequence(
        _ request: Kato_V2_ObserveSequenceRequest, session: Session, context: ServerContext
    ) throws -> (Kato_V2_ObserveSequenceResponse, [DurabilityTicket]) {
        var observations: [Observation] = []
        for (i, o) in request.observations.enumerated() {
            observations.append(try Convert.observation(o, field: "observations[\(i)]."))
        }
        let options = SequenceOptions(
            learnAfterEach: request.learnAfterEach, learnAtEnd: request.learnAtEnd, clearSTMBetween: request.clearStmBetween)
        let shouldContinue = CallSupport.shouldContinue(context)
        let level = sessions.nodes.level
        if options.learnAfterEach || options.learnAtEnd { try Durability.checkWrites(level) }
        try flags.checkEmotives(observations.contains { !$0.emotives.isEmpty })
        try Durability.checkEmotives(level, observations)
        let autoLearn = flags.autoLearn
        let node = sessions.nodes.durable(for: session.nodeID)
        var tickets: [DurabilityTicket] = []
        var skippedAt: Set<Int> = []
        let result = try session.mutateStepwise { engine, state, observed, publish in
            // Without a subscriber only the last observation's predictions can be read (the
            // sequence is undone as a whole on an error): the engine skips the others.
            try engine.observeSequence(
                observations, options: options, in: &state, shouldContinue: shouldContinue,
                onChange: { change, step in
                    switch change {
                    case .observe: publish(.observe, step)
                    case .autoLearn: publish(.autoLearn, step)
                    case .learn: publish(.learn, step)
                    case .clearSTM: publish(.clearStm, step)
                    }
                },
                observedSteps: observed,
                learner: { s, trigger in
                    if trigger == .auto && !(level.allowsAutoLearn && autoLearn) {
                        skippedAt.insert(s.time)
                        return nil
                    }
                    let (learned, t) = try node.recordLearn { trigger == .auto ? engine.performAutoLearn(in: &s) : engine.learn(in: &s) }
                    if let t { tickets.append(t) }
                    return learned.patternName
                })
        }
        KatoMetrics.observations.increment(by: result.observationsProcessed)
        KatoMetrics.patternsLearned.increment(by: result.autoLearnedPatterns.count + (result.finalLearnedPattern == nil ? 0 : 1))
        var m = Kato_V2_ObserveSequenceResponse()
        m.status = "completed"
        m.sessionID = session.publicID
        m.observationsProcessed = Int64(result.observationsProcessed)
        m.initialStmLength = Int64(result.initialSTMLength)
        m.finalStmLength = Int64(result.finalSTMLength)
        m.autoLearnedPatterns = result.autoLearnedPatterns
        m.finalLearnedPattern = result.finalLearnedPattern ?? ""
        m.results = zip(result.results, request.observations).map { item, o in
            var r = Kato_V2_ObserveResponse()
            r.status = "okay"
            r.sessionID = session.publicID
            r.nodeID = session.nodeID
            r.sequencePosition = Int64(item.sequencePosition)
            r.stmLength = Int64(item.stmLength)
            r.time = Int64(item.time)
            r.autoLearnedPattern = item.autoLearnedPattern ?? ""
            r.symbols = item.symbols
            r.autoLearnSkipped = skippedAt.contains(item.time)
            r.uniqueID = o.uniqueID.isEmpty ? Self.observationID(prefix: "seq-obs-") : o.uniqueID
            return r
        }
        return (m, tickets)
    }

    /// `obs-<32 hex>` (KATO's `uuid4().hex` form), without a system call (`UniqueIDs`).
    static func observationID(prefix: String) -> String { UniqueIDs.hex128(prefix: prefix) }
}
