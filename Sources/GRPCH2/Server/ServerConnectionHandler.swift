import GRPCH2Core
import Logging
import NIOCore
import ProtobufCBridge

/// Serves gRPC on one HTTP/2 connection: bytes from the socket go into nghttp2, request
/// events become calls, handler tasks' results come back here and leave through nghttp2.
///
/// Everything in this class runs on the channel's event loop. Handler tasks reach it only
/// through `StreamHandle`, which hops onto the loop.
final class ServerConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate, HTTP2ConnectionDriver {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let router: ServiceRouter
    let configuration: ServerConfiguration
    let logger: Logger
    var session: NGHTTP2Session?
    var context: ChannelHandlerContext?
    var streams = StreamTable<ServerStreamState>()
    /// Closed streams' objects, for reuse by new ones (see `ServerStreamState.reuse`).
    var spareStreams: [ServerStreamState] = []
    // The connection driver's state (`HTTP2ConnectionDriver`).
    var flushScheduled = false
    /// `takePushed`'s buffer, kept between takes (its capacity, not its messages).
    var pushScratch: [FramedMessage] = []
    /// `ServerConnectionStreams.push`'s list of scheduled streams, kept between jobs (its capacity).
    var pushRequestsSpare: [ServerConnectionStreams.PushRequest] = []
    /// `touchStreams`' sum of what it read (never used otherwise).
    var streamsTouched: Int32 = 0
    var outBuffer: ByteBuffer?
    var flushing = false
    var inRead = false
    /// The stream whose request headers are arriving (0: none), and those headers: a header
    /// block is never interleaved with another stream's frames (RFC 9113 §4.3), so they are
    /// gathered here, with no stream lookup (nor its retain/release) per header.
    var headerStreamID: Int32 = 0
    /// The method resolved last, by the `:path` String it came from: header values repeat on
    /// a connection as the same String (`NGHTTP2Session.headerValue`), so the comparison is
    /// usually of identical storage and skips hashing the path into the router's dictionary.
    /// (Two fields, not an optional tuple: copying that went through generic value witnesses.)
    var lastMethodPath = ""
    var lastMethod: MethodEntry?
    var requestHeaders = RequestHeaders()
    var peer = "unknown"
    /// The client's verified certificate (mTLS), captured when the TLS handshake completes.
    var peerCertificate: PeerCertificate?
    var shuttingDown = false
    var idleTimer: Scheduled<Void>?
    var maxAgeTimer: Scheduled<Void>?
    var pingTimer: RepeatedTask?
    var pingDeadline: Scheduled<Void>?
    var taskExecutor: EventLoopTaskExecutor?
    /// How handler tasks reach this connection (made once, in `start`).
    var streamOwner: ServerConnectionStreams?

    /// `configuration.maxHeaderListSize` as an Int, compared once per request header.
    let maxHeaderListSize: Int

    /// Handler tasks cancelled mid-call go here (the server waits for them at shutdown).
    let cancelledTasks: HandlerTasks?

    init(router: ServiceRouter, configuration: ServerConfiguration, logger: Logger, cancelledTasks: HandlerTasks? = nil) {
        self.cancelledTasks = cancelledTasks
        self.router = router
        self.configuration = configuration
        self.logger = logger
        maxHeaderListSize = Int(configuration.maxHeaderListSize)
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
        // Added after the TLS handshake (by `ProtocolDetector`, on the first bytes): its
        // completion event went by before this handler was there to see it.
        if configuration.tls?.clientCAPath != nil {
            peerCertificate = TLSContext.peerCertificate(pipeline: context.pipeline)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func start(context: ChannelHandlerContext) {
        guard session == nil else { return }
        if let remote = context.channel.remoteAddress { peer = remote.grpcPeerName }
        let settings = HTTP2SessionSettings(
            maxConcurrentStreams: configuration.maxConcurrentStreams,
            initialStreamWindow: configuration.initialStreamWindow,
            connectionWindow: configuration.connectionWindow,
            maxFrameSize: 16384,
            maxHeaderListSize: configuration.maxHeaderListSize,
            // A header block within the list limit fits in ~limit bytes on the wire (HPACK never
            // grows a field past name + value + 32): allow twice that in full-size frames, so an
            // oversized but not absurd block is still read whole and refused on its stream only.
            maxContinuations: max(8, 2 * Int(configuration.maxHeaderListSize) / 16384 + 1),
            streamResetBurst: configuration.streamResets.burst,
            streamResetsPerSecond: configuration.streamResets.perSecond)
        do {
            session = try NGHTTP2Session(role: .server, delegate: self, settings: settings)
        } catch {
            logger.error("cannot create HTTP/2 session", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        if configuration.handlerExecution == .eventLoop {
            taskExecutor = EventLoopTaskExecutor(eventLoop: context.eventLoop)
        }
        streamOwner = ServerConnectionStreams(connection: NIOLoopBound(self, eventLoop: context.eventLoop), configuration: configuration)
        scheduleKeepalive(context: context)
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data), context: context)
    }

    func connectionFailed(_ error: NGHTTP2Error, context: ChannelHandlerContext) {
        logger.debug("HTTP/2 connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        failConnection(context: context)
    }

    /// A connection error (malformed input; an HPACK failure such as a header value over
    /// nghttp2's 64 KiB limit, which leaves the connection-wide HPACK state unknown; a
    /// CONTINUATION flood): nghttp2 has queued a GOAWAY (`NGHTTP2Session.receive`). It is sent,
    /// every call on the connection is cancelled (their clients see the GOAWAY and the
    /// connection close: UNAVAILABLE), and the session is dropped. Then a lingering close: a
    /// half-close sends FIN after the GOAWAY, and bytes the peer had already sent are read and
    /// dropped until it closes (1 s at most), so the kernel does not answer them with a RST
    /// that would discard the GOAWAY from the peer's receive buffer.
    func failConnection(context: ChannelHandlerContext) {
        flush()
        tearDown()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in loopBound.value.close(promise: nil) }  // e.g. TLS without half-closure
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.scheduleTask(in: .seconds(1)) { loopBound.value.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            beginGracefulShutdown()
        } else {
            if peerCertificate == nil, configuration.tls?.clientCAPath != nil {
                peerCertificate = TLSContext.peerCertificate(pipeline: context.pipeline)
            }
            context.fireUserInboundEventTriggered(event)
        }
    }

    func tearDown() {
        for stream in streams.removeAll() { abandon(stream, reason: RPCError(code: .unavailable, message: "connection closed")) }
        headerStreamID = 0
        idleTimer?.cancel()
        maxAgeTimer?.cancel()
        pingTimer?.cancel()
        pingDeadline?.cancel()
        session?.close()
        session = nil
        streamOwner = nil  // it refers to this handler: end the cycle (tasks still running keep it)
    }
}
