import GRPCH2
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The admin HTTP/1.1 listener (`/metrics`, `/health/*`), on its own small bootstrap, by
/// default on loopback only.
public final class AdminServer: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var host = "127.0.0.1"
        /// 0 picks a free port.
        public var port = 50052
        public init() {}
    }

    let configuration: Configuration
    let routes: AdminRoutes
    let group: any EventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)
    /// Open connections, so a shutdown lets them finish (a hand-over: the process exits soon
    /// after, and a connection it accepted must get its answer, not a reset).
    private let connections = OpenConnections()

    public init(configuration: Configuration, routes: AdminRoutes, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.routes = routes
        self.group = group
    }

    /// Binds and returns the address (the port is the real one when 0 was asked for).
    /// `adopting`: a listening socket already bound (the server owns and closes it) — one bound
    /// by hand so it can be handed over, or received from a predecessor process (Sources/HandOver).
    public func start(adopting boundSocket: Int32? = nil) async throws -> (host: String, port: Int) {
        let routes = self.routes
        let connections = self.connections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.open.withLock { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in connections.open.withLock { _ = $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
        let channel = try await (boundSocket.map { bootstrap.withBoundSocket($0) }
            ?? bootstrap.bind(host: configuration.host, port: configuration.port)).get()
        self.channel.withLock { $0 = channel }
        let address = channel.localAddress
        return (address?.ipAddress ?? configuration.host, address?.port ?? configuration.port)
    }

    public func shutdown() async {
        let channel = self.channel.withLock { c in
            defer { c = nil }
            return c
        }
        await channel?.closeListenerAfterPendingAccepts(childGroup: group)
        // Connections already accepted get their answers: each closes after its response (the
        // client's choice) or is closed after a short wait (an idle keep-alive one).
        let deadline = ContinuousClock.now + .seconds(1)
        while !connections.open.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for open in connections.open.withLock({ Array($0.values) }) { try? await open.close() }
    }
}

/// The admin port's open connections.
final class OpenConnections: Sendable {
    let open = Mutex<[ObjectIdentifier: any Channel]>([:])
}
