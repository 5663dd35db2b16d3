import GRPCH2
import KatoProto
import Logging

/// The kato server: the kato.v2 services, health and reflection on one GRPCH2 server, plus
/// the session cleanup task.
public final class KatoServerApp: Sendable {
    public struct Configuration: Sendable {
        public var grpc = ServerConfiguration()
        public var sessions = SessionRegistry.Configuration()
        public init() {}
    }

    public let sessions: SessionRegistry
    public let health: HealthService
    let server: GRPCServer
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws {
        self.logger = logger
        sessions = SessionRegistry(configuration: configuration.sessions)
        health = HealthService()
        let services: [any ServiceProvider] = [
            SessionService(sessions: sessions), ObserveService(sessions: sessions), PredictService(sessions: sessions),
        ]
        var router = ServiceRouter()
        router.addInterceptor(TraceInterceptor(logger: logger))
        for s in services { router.register(s) }
        router.register(health)
        let index = try DescriptorIndex(descriptorSet: KatoDescriptors.descriptorSet)
        let listed = services.map(\.serviceName) + [health.serviceName] + ReflectionService.serviceNames
        router.register(ReflectionService(index: index, services: listed))
        server = GRPCServer(configuration: configuration.grpc, router: router, logger: logger)
        for name in listed { health.setStatus(.notServing, forService: name) }
        health.setStatus(.notServing, forService: "")
        serviceNames = listed
    }

    let serviceNames: [String]

    /// Binds, marks every service SERVING, and starts the cleanup task.
    public func start() async throws -> (host: String, port: Int) {
        let address = try await server.start()
        for name in serviceNames { health.setStatus(.serving, forService: name) }
        health.setStatus(.serving, forService: "")
        let sessions = self.sessions
        Task.detached { await sessions.runCleanup() }
        return (address.ipAddress ?? "?", address.port ?? 0)
    }

    /// Graceful shutdown: NOT_SERVING, GOAWAY, in-flight calls finish within the grace period.
    public func shutdown() async {
        health.enterShutdown()
        await server.shutdown()
    }

    public func waitUntilClosed() async throws {
        try await server.waitUntilClosed()
    }
}
