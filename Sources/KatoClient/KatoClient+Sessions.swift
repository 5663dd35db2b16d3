import GRPCH2
import KatoProto

extension KatoClient {
    /// A session's state (id, node, expiry, effective configuration, STM length, time);
    /// refreshes its sliding expiry.
    public func getSession(id: String) async throws -> Kato_V2_Session {
        var request = Kato_V2_GetSessionRequest()
        request.sessionID = id
        return try await call(Kato_V2_SessionService.getSession, request)
    }

    /// Creates a session and returns its full state (`createSession` returns a handle only).
    public func createSessionInfo(nodeID: String, ttlSeconds: Int64 = 0, config: Kato_V2_SessionConfig? = nil) async throws -> Kato_V2_Session {
        var request = Kato_V2_CreateSessionRequest()
        request.nodeID = nodeID
        request.ttlSeconds = ttlSeconds
        request.config = config
        return try await call(Kato_V2_SessionService.createSession, request)
    }
}
