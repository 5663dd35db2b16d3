import GRPCH2
import KatoEngine
import KatoProto
import KatoWire
import ProtobufCBridge

/// `kato.v2.PredictService`.
struct PredictService: ServiceProvider {
    let sessions: SessionRegistry
    /// The feature flags in force (read per call).
    var flags = LiveFlags()
    /// Ends open subscriptions when the server starts draining.
    var drain = Drain()
    var serviceName: String { Kato_V2_PredictService.serviceName }

    var methods: [ServerMethod] {
        [
            // Untyped, so the response is written straight from the compact predictions
            // (`PredictionsResponseEncoder`: each symbol's UTF-8 from the pattern's storage) instead
            // of string arrays, proto structs and protobuf-c structs built for one serialization.
            ServerMethod(path: Kato_V2_PredictService.getPredictions.path, kind: .unary) { requests, writer, context in
                var iterator = requests.makeAsyncIterator()
                guard let bytes = try await iterator.next() else {
                    throw RPCError(code: .internalError, message: "no request message")
                }
                let request = try ServerMethod.decodeRequest(bytes, as: Kato_V2_GetPredictionsRequest.self)
                let response = try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
                    try CallSupport.serve(context) {
                        let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                        return try session.read { _, state in
                            PredictionsResponseEncoder.encode(
                                sessionID: session.publicID,
                                predictions: flags.visiblePredictions(state.predictions, context),
                                futurePotentials: flags.visiblePredictions(state.futurePotentials, context))
                        }
                    }
                }
                try await writer.write(response)
            },
            // Untyped, so the update each subscriber receives is the one serialized at publication
            // (UpdateMailbox) rather than encoded again for every subscriber.
            ServerMethod(path: Kato_V2_PredictService.subscribePredictions.path, kind: .serverStreaming) { requests, writer, context in
                var iterator = requests.makeAsyncIterator()
                guard let bytes = try await iterator.next() else {
                    throw RPCError(code: .internalError, message: "no request message")
                }
                let request = try ServerMethod.decodeRequest(bytes, as: Kato_V2_SubscribePredictionsRequest.self)
                let (session, updates, token) = try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, context) {
                    try CallSupport.serve(context) {
                        // Set (0 included): a resume; not set: a new subscription.
                        var resumeAfter: Int64?
                        if case .resumeAfterSequence(let sequence)? = request.resume {
                            guard sequence >= 0 else {
                                throw KatoError.invalid("resume_after_sequence", "must be >= 0 (a sequence the subscriber saw)")
                            }
                            resumeAfter = sequence
                        }
                        let session = try flags.resolve(sessions, sessionID: request.sessionID, nodeID: request.nodeID, for: .read, context)
                        let (updates, token) = try session.subscribe(sendInitial: request.sendInitial, resumeAfter: resumeAfter)
                        return (session, updates, token)
                    }
                }
                await sessions.catchUp(session)  // shared sessions: what the log holds after the resume point
                do {
                    // Ends with UNAVAILABLE (SERVER_DRAINING) as soon as the server drains.
                    try await drain.racing(context) {
                        // What a subscriber receives: the update as published, or without what the
                        // predictions flag hides.
                        let visible: UpdateMailbox.Transform = { received in
                            if flags.predictions { return .asPublished }
                            guard var update = try? Kato_V2_PredictionUpdate(serializedBytes: Array(received.message)) else { return .skipped }
                            update.predictions = flags.visiblePredictions(update.predictions, context)
                            update.futurePotentials = []
                            return .replaced(FramedMessage(update.serializedBytes()))
                        }
                        if let pusher = writer.pusher {
                            // The connection takes each update from the mailbox on its loop: no
                            // wake-up of this task per update (docs/BENCHMARKS.md "Serving").
                            updates.attach(pusher, asPublishedWhile: flags, transform: visible)
                            let end = await updates.waitForEnd()
                            for received in updates.takeResponses() { try await writer.write(Array(received.message)) }
                            if let end { throw end }
                            return
                        }
                        // Everything queued since the last wake-up, written in one go (one flush).
                        while let batch = try await updates.next() {
                            for received in batch {
                                if let framed = visible(received).message(published: received) { try await writer.write(Array(framed.message)) }
                            }
                        }
                    }
                } catch {
                    session.unsubscribe(token)
                    await sessions.release(session)
                    throw CallSupport.mapped(error)
                }
                session.unsubscribe(token)
                await sessions.release(session)
            },
            unary(Kato_V2_PredictService.getPattern) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
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
                }
            },
            unary(Kato_V2_PredictService.getPerceptData) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
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
                }
            },
            unary(Kato_V2_PredictService.getCognitionData) { request, context in
                try await sessions.lease(sessionID: request.sessionID, nodeID: request.nodeID, speculative: true, context) {
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
                }
            },
        ]
    }
}
