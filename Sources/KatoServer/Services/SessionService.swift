import GRPCH2
import KatoEngine
import KatoProto

/// `kato.v2.SessionService`.
struct SessionService: ServiceProvider {
    let sessions: SessionRegistry
    /// The feature flags in force: every method answers FEATURE_DISABLED while v2_sessions is off.
    var flags = LiveFlags()
    var serviceName: String { Kato_V2_SessionService.serviceName }

    var methods: [ServerMethod] {
        [
            unary(Kato_V2_SessionService.createSession) { request, context in
                let session = try CallSupport.serve(context) {
                    try flags.checkSessionService()
                    try sessions.authorizeCreate(nodeID: request.nodeID, context)
                    let update = try Convert.configUpdate(request.config)
                    let session = try sessions.create(
                        nodeID: request.nodeID, ttlSeconds: request.ttlSeconds, config: update,
                        metadata: request.metadata ?? .init(), owner: context.principal?.name)
                    context.callRecord?.record(sessionID: session.publicID, nodeID: session.nodeID)
                    return session
                }
                try await sessions.storeCreated(session, context)  // shared sessions: committed before the answer
                return session.message()
            },
            unary(Kato_V2_SessionService.getSession) { request, context in
                try await sessions.lease(sessionID: request.sessionID, defaultSession: false, speculative: true, context) {
                    try CallSupport.serve(context) {
                        try flags.checkSessionService()
                        return try sessions.session(id: request.sessionID, for: .read, context).message()
                    }
                }
            },
            unary(Kato_V2_SessionService.extendSession) { request, context in
                try await sessions.lease(sessionID: request.sessionID, defaultSession: false, speculative: true, context) {
                    try CallSupport.serve(context) {
                        try flags.checkSessionService()
                        guard request.ttlSeconds >= 0, request.ttlSeconds <= sessions.configuration.maxTTL.components.seconds else {
                            throw KatoError.invalid("ttl_seconds", "must be 0 (keep) or 1...\(sessions.configuration.maxTTL.components.seconds)")
                        }
                        let session = try sessions.session(id: request.sessionID, for: .write, context)
                        session.extend(ttl: request.ttlSeconds == 0 ? nil : .seconds(request.ttlSeconds))
                        return session.message()
                    }
                }
            },
            unary(Kato_V2_SessionService.deleteSession) { request, context in
                try await sessions.lease(sessionID: request.sessionID, defaultSession: false, context) {
                    try CallSupport.serve(context) {
                        try flags.checkSessionService()
                        _ = try sessions.session(id: request.sessionID, for: .write, context)
                        try sessions.delete(id: request.sessionID)
                        var response = Kato_V2_DeleteSessionResponse()
                        response.sessionID = request.sessionID
                        return response
                    }
                }
            },
            unary(Kato_V2_SessionService.updateSessionConfig) { request, context in
                try await sessions.lease(sessionID: request.sessionID, defaultSession: false, speculative: true, context) {
                    try CallSupport.serve(context) {
                        try flags.checkSessionService()
                        let update = try Convert.configUpdate(request.config)
                        let session = try sessions.session(id: request.sessionID, for: .write, context)
                        try session.mutate { _, state -> ((), Kato_V2_UpdateCause?) in
                            do {
                                try state.updateConfig(update)
                            } catch let error as EngineValidationError {
                                throw KatoError.invalid("config." + error.field, error.reason)
                            }
                            return ((), nil)
                        }
                        return session.message()
                    }
                }
            },
            unary(Kato_V2_SessionService.countSessions) { request, context in
                if let shared = sessions.shared {
                    var response = Kato_V2_CountSessionsResponse()
                    response.count = Int64(try await sessions.sharedCount(nodeID: request.nodeID, visibleTo: context, shared))
                    return response
                }
                do {
                    try await sessions.pending.waitForAll(deadline: context.deadline)  // a hand-over under way
                } catch {
                    throw CallSupport.mapped(error)
                }
                return try CallSupport.serve(context) {
                    try flags.checkSessionService()
                    var response = Kato_V2_CountSessionsResponse()
                    response.count = Int64(try sessions.count(nodeID: request.nodeID, visibleTo: context))
                    return response
                }
            },
        ]
    }
}
