import GRPCH2Core
import Logging
import NIOCore
import NIOHTTP1

/// gRPC-Web and Connect calls over HTTP/1.1 (docs/WEB.md), reaching the same router, the same
/// interceptors and the same handlers as gRPC over HTTP/2. One call at a time per connection:
/// HTTP/1.1 has no multiplexing, and NIO's pipelining helper holds a pipelined request back
/// until the previous response has ended. The request body is read whole (the calls HTTP/1.1
/// can carry take one request message); the response streams for server-streaming calls.
final class HTTP1WebHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let router: ServiceRouter
    let configuration: ServerConfiguration
    let logger: Logger
    var context: ChannelHandlerContext?
    private var owner: HTTP1CallOwner?
    private(set) var peer = ""
    private var peerCertificate: PeerCertificate?

    private var request: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyOverLimit = false
    var call: WebCall?
    /// A GET route is answering (off the loop): a shutdown waits for its response.
    var getInFlight = false
    /// Shutdown began while a GET route was answering: close after its response.
    var closeAfterResponse = false
    private var callCount: Int32 = 0
    /// Closes the connection when no whole request arrives in time (`Web.requestTimeout`).
    private var requestTimer: Scheduled<Void>?
    /// Closes the connection at the end of a shutdown's grace period.
    private var graceTimer: Scheduled<Void>?
    /// Where handlers run, as on an HTTP/2 connection (`ServerConfiguration.handlerExecution`).
    private var taskExecutor: EventLoopTaskExecutor?

    private var bodyLimit: Int { WebRequestDecoding.bodyLimit(maxMessageSize: configuration.maxReceiveMessageSize) }

    init(router: ServiceRouter, configuration: ServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        owner = HTTP1CallOwner(connection: NIOLoopBound(self, eventLoop: context.eventLoop))
        if configuration.handlerExecution == .eventLoop { taskExecutor = EventLoopTaskExecutor(eventLoop: context.eventLoop) }
        peer = context.channel.remoteAddress?.grpcPeerName ?? ""
        if configuration.tls?.clientCAPath != nil { peerCertificate = TLSContext.peerCertificate(pipeline: context.pipeline) }
        awaitNextRequest()
    }

    /// Starts the wait for the next whole request (after the connection opens, after each response).
    func awaitNextRequest() {
        requestTimer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = configuration.web.requestTimeout
        requestTimer = context.eventLoop.scheduleTask(in: .nanoseconds(ServerConnectionHandler.nanos(timeout))) {
            let handler = loopBound.value
            guard handler.call == nil, !handler.getInFlight else { return }
            handler.logger.debug("web connection closed: no whole request in time", metadata: ["peer": "\(handler.peer)"])
            handler.context?.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestTimer?.cancel()
        graceTimer?.cancel()
        abandonCall()
        self.context = nil
        owner = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonCall()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("web connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Shutdown: an idle connection closes now; a busy one after its response (keep-alive off),
        // or at the end of the grace period, as an HTTP/2 connection does.
        if event is GracefulShutdownEvent {
            let channel = context.channel
            graceTimer = context.eventLoop.scheduleTask(in: .nanoseconds(ServerConnectionHandler.nanos(configuration.keepalive.gracePeriod))) {
                channel.close(promise: nil)
            }
            if let call {
                call.keepAlive = false
            } else if getInFlight {
                closeAfterResponse = true
            } else if request == nil {
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            body.removeAll(keepingCapacity: true)
            bodyOverLimit = false
        case .body(let chunk):
            guard !bodyOverLimit else { return }
            if body.count + chunk.readableBytes > bodyLimit {
                bodyOverLimit = true
                body = []
            } else {
                body.append(contentsOf: chunk.readableBytesView)
            }
        case .end:
            guard let head = request else { return }
            request = nil
            requestTimer?.cancel()
            handleRequest(head)
        }
    }

    private func abandonCall() {
        guard let call else { return }
        call.finished = true
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        self.call = nil
    }

    // MARK: starting a call

    private func handleRequest(_ head: HTTPRequestHead) {
        let origin = head.headers.first(name: "origin").flatMap { configuration.web.allowedOrigin($0) }
        let headerListSize = Self.headerListSize(head)
        if headerListSize > Int(configuration.maxHeaderListSize) {
            return respondPlain(head, status: .requestHeaderFieldsTooLarge, allowedOrigin: origin,
                                "request header list of \(headerListSize) bytes is larger than max (\(configuration.maxHeaderListSize))")
        }
        if head.method == .OPTIONS { return respondToPreflight(head, allowedOrigin: origin) }
        let path = String(head.uri.prefix { $0 != "?" })
        if head.method == .GET || head.method == .HEAD, let route = router.getRoute(for: path) {
            return respondToGet(head, route)
        }
        if head.method == .GET, router.method(for: path) != nil { return startConnectGet(head, path: path, allowedOrigin: origin) }
        guard head.method == .POST else {
            return respondPlain(head, status: .methodNotAllowed, allowedOrigin: origin,
                                "\(head.method) \(head.uri): calls are POST requests (gRPC-Web, Connect)")
        }
        let contentType = head.headers.first(name: "content-type") ?? ""
        guard let kind = WebRequestKind(contentType: contentType) else {
            return respondPlain(head, status: .unsupportedMediaType, allowedOrigin: origin,
                                "content-type '\(contentType)' is not a protocol this port speaks over HTTP/1.1: "
                                    + "gRPC-Web (application/grpc-web[-text][+proto|+json]) or Connect "
                                    + "(application/json, application/proto, application/connect+json|+proto); "
                                    + "gRPC itself needs HTTP/2")
        }
        let encoder = WebResponseEncoder(kind: kind, path: path, router: router, configuration: configuration,
                                         header: { head.headers.first(name: $0) })
        let call = newCall(encoder, head: head, allowedOrigin: origin)
        do throws(RPCError) {
            try start(call, head: head, body: body, header: { head.headers.first(name: $0) })
        } catch {
            finish(call, error: error, messages: [])
        }
    }

    private func newCall(_ encoder: WebResponseEncoder, head: HTTPRequestHead, allowedOrigin: String?) -> WebCall {
        callCount &+= 1
        let call = WebCall(id: callCount, encoder: encoder, head: head, allowedOrigin: allowedOrigin)
        self.call = call
        return call
    }

    /// A Connect unary call sent as GET (`ConnectGetRequest`): the message from the query, then
    /// the same start as a POST's; errors in Connect's form (JSON when the query named no codec).
    private func startConnectGet(_ head: HTTPRequestHead, path: String, allowedOrigin: String?) {
        let query = head.uri.firstIndex(of: "?").map { String(head.uri[head.uri.index(after: $0)...]) } ?? ""
        let parsed = ConnectGetRequest.parse(query: query)
        let kind = (try? parsed.get())?.kind ?? WebRequestKind(webProtocol: .connectUnary, codec: .json)
        var encoder = WebResponseEncoder(kind: kind, path: path, router: router, configuration: configuration,
                                         header: { head.headers.first(name: $0) })
        encoder.isGet = true
        encoder.ifNoneMatch = head.headers.first(name: "if-none-match")
        let call = newCall(encoder, head: head, allowedOrigin: allowedOrigin)
        do throws(RPCError) {
            // Whether the method may be called so comes first (a 405 for a POST-only method, however its query reads).
            if let method = router.method(for: path), let refusal = ConnectGetRequest.refusal(
                for: method.kind, path: path, hasNoSideEffects: router.messageTranscoder?.hasNoSideEffects(path: path) ?? false) {
                throw refusal
            }
            let request = try parsed.get()
            try start(call, head: head, body: request.message, header: { name in
                name == "content-encoding" ? request.compression : head.headers.first(name: name)
            })
        } catch {
            finish(call, error: error, messages: [])
        }
    }

    /// A head's size as HTTP/2 counts a header list (RFC 9113 6.5.2: name + value + 32 per field,
    /// the request line as `:method` and `:path`), so both transports share one limit.
    static func headerListSize(_ head: HTTPRequestHead) -> Int {
        head.headers.reduce(":method".utf8.count + head.method.rawValue.utf8.count + ":path".utf8.count + head.uri.utf8.count + 64) {
            $0 + $1.name.utf8.count + $1.value.utf8.count + 32
        }
    }

    /// `body` holds the request message in its protocol's form; `header` reads the request's
    /// headers by lower-case name (a GET's compression comes from its query).
    private func start(_ call: WebCall, head: HTTPRequestHead, body: [UInt8], header: (String) -> String?) throws(RPCError) {
        if bodyOverLimit {
            call.keepAlive = false  // the rest of an oversized body was not read
            throw RPCError(code: .resourceExhausted, message: "request body larger than max (\(bodyLimit) bytes)")
        }
        guard let method = router.method(for: call.path) else {
            throw RPCError(code: .unimplemented, message: "unknown method \(call.path)")
        }
        call.method = method
        if let refusal = call.kind.refusal(for: method.kind, path: call.path) { throw refusal }
        let timeout = try call.kind.timeout(from: header).get()
        let message = try WebRequestDecoding(kind: call.kind, path: call.path, maxMessageSize: configuration.maxReceiveMessageSize,
                                             transcoder: router.messageTranscoder).message(body: body, header: header)
        call.deadline = timeout.map { .now + $0 }
        let serverContext = ServerContext(path: call.path, requestMetadata: Self.metadata(head.headers), deadline: call.deadline,
                                          peer: peer, peerCertificate: peerCertificate, kind: method.kind,
                                          wireProtocol: call.kind.webProtocol.wireName)
        call.serverContext = serverContext
        if let timeout, let context {
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let id = call.id
            call.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(ServerConnectionHandler.nanos(timeout))) {
                loopBound.value.deadlineExpired(callID: id)
            }
        }
        guard let owner else { return }
        let handle = StreamHandle(owner: owner, streamID: call.id)
        if let startUnary = method.method.startUnary {
            call.task = startUnary(message, serverContext, handle, taskExecutor)  // a typed unary method's direct path, as over HTTP/2
        } else {
            call.task = Task(executorPreference: taskExecutor,
                             operation: method.callBody(requests: .completed([message]), context: serverContext, handle: handle))
        }
    }

    private func deadlineExpired(callID: Int32) {
        guard let call, call.id == callID, !call.finished else { return }
        call.task?.cancel()
        finish(call, error: DeadlineStatus.exceeded, messages: [])
    }

    /// Request headers as call metadata: what HTTP/1.1 and the web protocols use for
    /// themselves is not the application's (`Metadata.isReserved`, plus the browser's and
    /// the protocols' own headers); `-bin` values are base64.
    static func metadata(_ headers: HTTPHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value) in headers {
            let key = name.lowercased()
            guard !Metadata.isReserved(key), !WebResponseEncoder.isProtocolHeader(key) else { continue }
            if key.hasSuffix("-bin") {
                if let bytes = Base64.decode(value) { metadata.addBinary(bytes, forKey: key) }
            } else {
                metadata.addString(value, forKey: key)
            }
        }
        return metadata
    }
}
