import GRPCH2Core
import Logging
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// A gRPC server over HTTP/2 (libnghttp2) on SwiftNIO.
///
/// ```swift
/// var router = ServiceRouter()
/// router.register(MyService())
/// let server = GRPCServer(configuration: .init(), router: router, logger: logger)
/// let address = try await server.start()
/// try await server.waitUntilClosed()
/// ```
public final class GRPCServer: Sendable {
    public let configuration: ServerConfiguration
    public let router: ServiceRouter
    let logger: Logger
    let group: any EventLoopGroup
    private let ownsGroup: Bool
    /// Connections come and go on every event loop. A pthread lock (NIOLock), not
    /// `Synchronization.Mutex`: ThreadSanitizer does not see the latter's contended path on
    /// Linux and reports its accesses as races (docs/SANITIZERS.md).
    private let state = NIOLockedValueBox<State>(State())
    /// Handler tasks cancelled mid-call, which `shutdown()` waits for (bounded).
    let cancelledTasks = HandlerTasks()

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    public init(configuration: ServerConfiguration, router: ServiceRouter, logger: Logger,
                group: (any EventLoopGroup)? = nil) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        if let group {
            self.group = group
            self.ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            self.ownsGroup = true
        }
    }

    /// Binds and starts accepting connections; returns the bound address (useful with port 0).
    /// `adopting`: a listening socket already bound, used instead of binding `host:port` (the
    /// server owns and closes it) — one bound by hand or received from a predecessor process
    /// (zero-downtime restart, Sources/HandOver). Throws `InvalidServerConfiguration` for a
    /// configuration no server can honour, before anything is bound.
    @discardableResult
    public func start(adopting boundSocket: Int32? = nil) async throws -> SocketAddress {
        let configuration = self.configuration
        try configuration.validate()
        let router = self.router
        let logger = self.logger
        let cancelledTasks = self.cancelledTasks
        let tls = try configuration.tls.map { try TLSContext(configuration: $0, offerHTTP1: configuration.web.enabled) }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [weak self] channel in
                self?.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try tls.addHandlers(to: channel) }
                    try Self.installConnectionHandler(
                        on: channel, configuration: configuration, router: router, logger: logger, cancelledTasks: cancelledTasks)
                }
            }
        let listener = try await (boundSocket.map { bootstrap.withBoundSocket($0) }
            ?? bootstrap.bind(host: configuration.host, port: configuration.port)).get()
        state.withLockedValue { $0.listener = listener }
        return listener.localAddress!
    }

    /// The bound address, once started.
    public var localAddress: SocketAddress? {
        state.withLockedValue { $0.listener?.localAddress }
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
    }

    /// Stops accepting, sends GOAWAY on every connection, lets in-flight calls finish within
    /// the grace period, then closes everything. The calls cut off then (their tasks cancelled)
    /// get `configuration.handlerExitBound` more to end, so that what they change is done before
    /// this returns; returns how many handler tasks still run past that bound (0 normally).
    @discardableResult
    public func shutdown() async -> Int {
        let listener = state.withLockedValue { $0.listener }
        await listener?.closeListenerAfterPendingAccepts(childGroup: group)
        // Taken after the listener closed: a connection accepted meanwhile gets its GOAWAY too.
        let connections = state.withLockedValue { Array($0.connections.values) }
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        }
        for connection in connections {
            try? await connection.closeFuture.get()
        }
        let stillRunning = await cancelledTasks.waitForAll(within: configuration.handlerExitBound)
        if stillRunning > 0 {
            logger.warning("handler tasks still running after the grace period and the exit bound", metadata: [
                "tasks": "\(stillRunning)", "exit_bound": "\(configuration.handlerExitBound)",
            ])
        }
        if ownsGroup { try? await group.shutdownGracefully() }
        return stillRunning
    }

    /// Suspends until the listening socket closes.
    public func waitUntilClosed() async throws {
        let listener = state.withLockedValue { $0.listener }
        try await listener?.closeFuture.get()
    }
}
