import GRPCH2
import KatoEngine
import KatoProto

/// `kato.v2.PredictService`.
struct PredictService: KatoService {
    let sessions: SessionRegistry
    /// The feature flags in force (read per call).
    var flags = LiveFlags()
    /// Ends open subscriptions when the server starts draining.
    var drain = Drain()
    /// Run inside each unary method (see `KatoService`); nil: none.
    var interceptor: KatoInterceptor? = nil
    var serviceName: String { Kato_V2_PredictService.serviceName }

    var methods: [ServerMethod] {
        [
            unary(Kato_V2_PredictService.getPredictions) { request, context in
                try CallSupport.serve(context) {
                    let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                    return try session.read { _, state in
                        var m = Kato_V2_GetPredictionsResponse()
                        m.sessionID = session.publicID
                        m.predictions = flags.visiblePredictions(state.predictions.map(Convert.prediction), context)
                        m.futurePotentials = flags.visiblePredictions(state.futurePotentials.map(Convert.futurePotential), context)
                        m.count = Int64(m.predictions.count)
                        return m
                    }
                }
            },
            .serverStreaming(Kato_V2_PredictService.subscribePredictions) { request, writer, context in
                let (session, updates, token) = try CallSupport.serve(context) {
                    let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                    let (updates, token) = try session.subscribe(sendInitial: request.sendInitial)
                    return (session, updates, token)
                }
                defer { session.unsubscribe(token) }
                // Ends with UNAVAILABLE (SERVER_DRAINING) as soon as the server drains.
                try await drain.racing(context) {
                    do {
                        for try await received in updates {
                            var update = received
                            if !flags.predictions {
                                update.predictions = flags.visiblePredictions(update.predictions, context)
                                update.futurePotentials = []
                            }
                            try await writer.write(update)
                        }
                    } catch {
                        throw CallSupport.mapped(error, context)
                    }
                }
            },
            unary(Kato_V2_PredictService.getPattern) { request, context in
                let session = try CallSupport.serve(context) {
                    try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                }
                try await sessions.nodes.awaitCurrent(session.nodeID, context)  // a pattern learned on another replica
                return try CallSupport.serve(context) {
                    let bare = request.name.hasPrefix("PTRN|") ? String(request.name.dropFirst(5)) : request.name
                    guard !bare.isEmpty else { throw KatoError.invalid("name", "is required") }
                    guard let pattern = session.engine.pattern(named: bare) else {
                        throw KatoError.patternNotFound(request.name)
                    }
                    return Convert.pattern(pattern)
                }
            },
            unary(Kato_V2_PredictService.getPerceptData) { request, context in
                try CallSupport.serve(context) {
                    let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                    return try session.read { _, state in
                        var m = Kato_V2_PerceptData()
                        if let o = state.lastObservation {
                            m.strings = o.strings
                            m.vectors = o.vectors.map { values in
                                var v = Kato_V2_Vector()
                                v.values = values
                                return v
                            }
                            m.emotives = o.emotives
                            m.metadata = o.metadata.mapValues(Convert.protoValue)
                        }
                        return m
                    }
                }
            },
            unary(Kato_V2_PredictService.getCognitionData) { request, context in
                try CallSupport.serve(context) {
                    let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                    return try session.read { _, state in
                        var m = Kato_V2_CognitionData()
                        m.predictions = flags.visiblePredictions(state.predictions.map(Convert.prediction), context)
                        m.emotives = state.currentEmotives
                        m.symbols = state.lastSymbols
                        m.shortTermMemory = Convert.events(state.stm)
                        return m
                    }
                }
            },
        ]
    }
}
