import GRPCH2Core
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The client's connections, a layer above the connection handler: the one new calls go on, and
/// a new one once the server has said GOAWAY (a drain, a restart by hand-over) or the connection
/// is gone. Calls already on the old connection finish there; the server closes it after them.
///
/// What may be sent again (gRPC's transparent retry): a call the connection never sent (it could
/// not open a stream) and one the server refused unprocessed (REFUSED_STREAM: a stream above
/// GOAWAY's last-stream-id, or one the server would not start). A call the server may have
/// started is never sent twice.
final class ClientConnections: Sendable {
    /// One HTTP/2 connection.
    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
        let goingAway: GoAwayFlag

        /// New calls may go on it: open, and the server has not said GOAWAY.
        var isUsable: Bool { channel.isActive && !goingAway.isSet }
    }

    private struct State {
        var current: Connection?
        var reconnecting: Task<Connection, any Error>?
        /// Every connection not yet closed, the draining ones included (closed by `close()`).
        var open: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    let configuration: GRPCClient.Configuration
    let group: any EventLoopGroup
    let logger: Logger
    private let state = Mutex(State())
    /// Connections opened after the first (for tests and logs).
    private let reconnections = Atomic<Int>(0)

    init(configuration: GRPCClient.Configuration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    var reconnectCount: Int { reconnections.load(ordering: .relaxed) }

    /// Opens the first connection (or a new one in place of the current).
    func connect() async throws {
        let connection = try await open()
        let old = state.withLock { s -> Connection? in
            defer { s.current = connection }
            return s.current
        }
        if let old, old.channel !== connection.channel { old.goingAway.set() }
    }

    /// The connection for a new call: the current one while usable; else, when reconnecting is
    /// on, a new one (one attempt shared by the calls that ask meanwhile). Nil before `connect()`.
    func forNewCall() async throws -> Connection? {
        enum Next { case use(Connection?), wait(Task<Connection, any Error>) }
        let reconnects = configuration.reconnects
        let next = state.withLock { s -> Next in
            guard let current = s.current, !s.closed else { return .use(nil) }
            if current.isUsable || !reconnects { return .use(current) }
            if let task = s.reconnecting { return .wait(task) }
            let task = Task { try await self.replace(current) }
            s.reconnecting = task
            return .wait(task)
        }
        switch next {
        case .use(let connection): return connection
        case .wait(let task):
            do {
                return try await task.value
            } catch {
                throw RPCError(code: .unavailable, message: "cannot reconnect to \(configuration.host):\(configuration.port): \(error)", cause: error)
            }
        }
    }

    private func replace(_ old: Connection) async throws -> Connection {
        do {
            let connection = try await open()
            reconnections.add(1, ordering: .relaxed)
            state.withLock { s in
                s.reconnecting = nil
                if s.current?.channel === old.channel { s.current = connection }
            }
            logger.debug("reconnected", metadata: ["peer": "\(configuration.host):\(configuration.port)"])
            return connection
        } catch {
            state.withLock { $0.reconnecting = nil }
            throw error
        }
    }

    /// Closes every connection (the draining ones too).
    func close() async {
        let channels = state.withLock { s -> [any Channel] in
            s.closed = true
            s.reconnecting?.cancel()
            return Array(s.open.values)
        }
        for channel in channels { try? await channel.close() }
    }

    /// A new connection: TCP, TLS handshake, HTTP/2 preface.
    private func open() async throws -> Connection {
        let configuration = self.configuration
        let logger = self.logger
        let sslContext = try configuration.tls.map { try GRPCClient.sslContext($0) }
        let serverName = configuration.tls?.serverName ?? (configuration.host.first?.isNumber == true ? nil : configuration.host)
        let goingAway = GoAwayFlag()
        let box = ConnectionBox()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    let handler = ClientConnectionHandler(maxReceiveMessageSize: configuration.maxReceiveMessageSize, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(GoAwayObserver(flag: goingAway))
                    box.value.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: configuration.host, port: configuration.port).get()
        guard let handler = box.value.withLock({ $0 }) else {
            try? await channel.close()
            throw RPCError(code: .unavailable, message: "connection set-up failed")
        }
        let id = ObjectIdentifier(channel)
        let closedAlready = state.withLock { s -> Bool in
            if !s.closed { s.open[id] = channel }
            return s.closed
        }
        if closedAlready {
            try? await channel.close()
            throw RPCError(code: .unavailable, message: "client closed")
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { _ = $0.open.removeValue(forKey: id) }
        }
        return Connection(channel: channel, handler: handler, goingAway: goingAway)
    }
}

/// Set once the server said GOAWAY on a connection (read from any thread).
final class GoAwayFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Sits after the connection handler and notes its GOAWAY event, so new calls go elsewhere.
final class GoAwayObserver: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let flag: GoAwayFlag
    init(flag: GoAwayFlag) { self.flag = flag }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HTTP2GoAwayReceived { flag.set() }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Fired through the pipeline by the connection handler when the server sends GOAWAY.
struct HTTP2GoAwayReceived: Sendable {
    let lastStreamID: Int32
    let errorCode: UInt32
}

/// The `cause` of a call's UNAVAILABLE when the server refused its stream unprocessed
/// (REFUSED_STREAM): safe to send again, which `GRPCClient` does by itself.
public struct StreamRefused: Error, Sendable, CustomStringConvertible {
    public var description: String { "the server refused the stream before processing it (REFUSED_STREAM)" }
}
