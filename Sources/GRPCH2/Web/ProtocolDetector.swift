import Logging
import NIOCore
import NIOHTTP1

/// The first bytes of a connection (after TLS, if any) decide what it speaks: the HTTP/2
/// client preface → the gRPC connection handler, exactly as without the web protocols;
/// anything else → HTTP/1.1, where gRPC-Web and Connect calls are served (`HTTP1WebHandler`).
/// The detector then leaves the pipeline, handing on the bytes it held.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let router: ServiceRouter
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let cancelledTasks: HandlerTasks?
    private var held: ByteBuffer?
    /// A connection that says nothing is closed after `Web.requestTimeout` (before detection
    /// neither protocol's own idle rules run).
    private var silenceTimer: Scheduled<Void>?

    init(router: ServiceRouter, configuration: ServerConfiguration, logger: Logger, cancelledTasks: HandlerTasks? = nil) {
        self.cancelledTasks = cancelledTasks
        self.router = router
        self.configuration = configuration
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        silenceTimer = context.eventLoop.scheduleTask(in: .nanoseconds(ServerConnectionHandler.nanos(configuration.web.requestTimeout))) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        silenceTimer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Shutdown before the client said anything: nothing is in flight, close now (the
        // server waits for every connection to close).
        if event is GracefulShutdownEvent { return context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if held == nil {
            held = incoming
        } else {
            held!.writeBuffer(&incoming)
        }
        let bytes = held!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let matches = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        if matches && n < Self.preface.count { return }  // a prefix of the preface: wait for more
        do {
            let pipeline = context.pipeline.syncOperations
            if matches {
                try pipeline.addHandler(ServerConnectionHandler(router: router, configuration: configuration, logger: logger, cancelledTasks: cancelledTasks),
                                        position: .after(self))
            } else {
                // The web handler first, then the HTTP/1.1 codec between it and the detector.
                try pipeline.addHandler(HTTP1WebHandler(router: router, configuration: configuration, logger: logger),
                                        position: .after(self))
                try pipeline.configureHTTPServerPipeline(position: .after(self), withPipeliningAssistance: true,
                                                         withErrorHandling: true)
            }
        } catch {
            logger.debug("cannot set up the connection's protocol", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        let buffered = held!
        held = nil
        context.fireChannelRead(wrapInboundOut(buffered))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
