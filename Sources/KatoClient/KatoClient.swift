import GRPCH2
import KatoProto
import ProtobufCBridge

/// A Swift client for kato.v2: async/await calls, `AsyncSequence` subscriptions, typed errors.
///
/// ```swift
/// let client = try await KatoClient.connect(host: "127.0.0.1", port: 50051)
/// let session = try await client.createSession(nodeID: "n1")
/// _ = try await session.observe(["hello"])
/// _ = try await session.observe(["world"])
/// let name = try await session.learn()
/// for try await update in try await session.subscribe() { print(update.predictions) }
/// ```
public final class KatoClient: Sendable {
    let grpc: GRPCClient
    /// Per-call timeout applied when a call passes none.
    public let defaultTimeout: Duration?

    public init(grpc: GRPCClient, defaultTimeout: Duration? = nil) {
        self.grpc = grpc
        self.defaultTimeout = defaultTimeout
    }

    /// Connects to `host:port` (h2c, or TLS when `tls` is given). `apiKey` is sent as
    /// `authorization: Bearer <key>` on every call.
    public static func connect(
        host: String, port: Int, tls: GRPCClient.Configuration.TLS? = nil, apiKey: String? = nil,
        defaultTimeout: Duration? = nil
    ) async throws -> KatoClient {
        var configuration = GRPCClient.Configuration(host: host, port: port, tls: tls)
        if let apiKey { configuration.defaultMetadata.addString("Bearer \(apiKey)", forKey: "authorization") }
        let grpc = GRPCClient(configuration: configuration)
        try await grpc.connect()
        return KatoClient(grpc: grpc, defaultTimeout: defaultTimeout)
    }

    public func close() async {
        await grpc.close()
    }

    func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request, timeout: Duration? = nil) async throws -> Response {
        do {
            return try await grpc.unary(method, request, timeout: timeout ?? defaultTimeout)
        } catch let error as RPCError {
            throw KatoClientError(error)
        }
    }

    /// Creates a session on `nodeID`.
    public func createSession(nodeID: String, ttlSeconds: Int64 = 0, config: Kato_V2_SessionConfig? = nil) async throws -> KatoSession {
        var request = Kato_V2_CreateSessionRequest()
        request.nodeID = nodeID
        request.ttlSeconds = ttlSeconds
        request.config = config
        let session = try await call(Kato_V2_SessionService.createSession, request)
        return KatoSession(client: self, sessionID: session.sessionID, nodeID: session.nodeID)
    }

    /// An existing session by id (no call is made).
    public func session(id: String, nodeID: String = "") -> KatoSession {
        KatoSession(client: self, sessionID: id, nodeID: nodeID)
    }

    /// The default session of a node (calls without a session id, KATO v1 style).
    public func defaultSession(nodeID: String) -> KatoSession {
        KatoSession(client: self, sessionID: "", nodeID: nodeID)
    }

    public func countSessions(nodeID: String = "") async throws -> Int64 {
        var request = Kato_V2_CountSessionsRequest()
        request.nodeID = nodeID
        return try await call(Kato_V2_SessionService.countSessions, request).count
    }

    /// The server's health for `service` ("" = the whole server).
    public func health(service: String = "") async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        return try await call(Grpc_Health_V1_Health.check, request).status
    }
}

/// A failed kato call: the gRPC status plus the ErrorInfo reason and trace id.
public struct KatoClientError: Error, Sendable, CustomStringConvertible {
    public let code: StatusCode
    public let message: String
    /// ErrorInfo reason, e.g. `SESSION_NOT_FOUND` (empty when the server sent none).
    public let reason: String
    public let traceID: String
    /// BadRequest field violations: (field, description).
    public let fieldViolations: [(field: String, description: String)]

    init(_ error: RPCError) {
        code = error.code
        message = error.message
        let status = error.status
        let info = status?.details.lazy.compactMap { $0.unpack(Google_Rpc_ErrorInfo.self) }.first
        reason = info?.reason ?? ""
        traceID = info?.metadata["trace_id"] ?? error.trailingMetadata.firstString(forKey: "x-trace-id") ?? ""
        fieldViolations = status?.details.lazy.compactMap { $0.unpack(Google_Rpc_BadRequest.self) }.first?
            .fieldViolations.map { ($0.field, $0.description) } ?? []
    }

    public var description: String {
        "\(code.name)\(reason.isEmpty ? "" : " [\(reason)]"): \(message)\(traceID.isEmpty ? "" : " (trace \(traceID))")"
    }
}
