import GRPCH2Core
import Logging
import NIOCore
import ProtobufCBridge

/// Serves gRPC on one HTTP/2 connection: bytes from the socket go into nghttp2, request
/// events become calls, handler tasks' results come back here and leave through nghttp2.
///
/// Everything in this class runs on the channel's event loop. Handler tasks reach it only
/// through `StreamHandle`, which hops onto the loop.
final class ServerConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let router: ServiceRouter
    let configuration: ServerConfiguration
    let logger: Logger
    private var session: NGHTTP2Session?
    private var context: ChannelHandlerContext?
    private var streams = StreamTable<ServerStreamState>()
    /// Closed streams' objects, for reuse by new ones (see `ServerStreamState.reuse`).
    private var spareStreams: [ServerStreamState] = []
    private var flushScheduled = false
    /// Reused for every write: once the channel has written it (usually within `flush`) the
    /// storage is ours alone again, so `clear()` keeps it instead of allocating 4 KiB per flush.
    private var outBuffer: ByteBuffer?
    /// Set while `flush()` runs: nghttp2 callbacks fired from `mem_send` must not flush again.
    private var flushing = false
    private var inRead = false
    /// The stream whose request headers are arriving (0: none), and those headers: a header
    /// block is never interleaved with another stream's frames (RFC 9113 §4.3), so they are
    /// gathered here, with no stream lookup (nor its retain/release) per header.
    private var headerStreamID: Int32 = 0
    /// The method resolved last, by the `:path` String it came from: header values repeat on
    /// a connection as the same String (`NGHTTP2Session.headerValue`), so the comparison is
    /// usually of identical storage and skips hashing the path into the router's dictionary.
    /// (Two fields, not an optional tuple: copying that went through generic value witnesses.)
    private var lastMethodPath = ""
    private var lastMethod: MethodEntry?
    private var requestHeaders = RequestHeaders()
    private var peer = "unknown"
    /// The client's verified certificate (mTLS), captured when the TLS handshake completes.
    private var peerCertificate: PeerCertificate?
    private var shuttingDown = false
    private var idleTimer: Scheduled<Void>?
    private var maxAgeTimer: Scheduled<Void>?
    private var pingTimer: RepeatedTask?
    private var pingDeadline: Scheduled<Void>?
    private var taskExecutor: EventLoopTaskExecutor?
    /// How handler tasks reach this connection (made once, in `start`).
    private var streamOwner: ServerConnectionStreams?

    /// `configuration.maxHeaderListSize` as an Int, compared once per request header.
    private let maxHeaderListSize: Int

    init(router: ServiceRouter, configuration: ServerConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        maxHeaderListSize = Int(configuration.maxHeaderListSize)
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard session == nil else { return }
        if let remote = context.channel.remoteAddress {
            switch remote {
            case .v4: peer = "ipv4:\(remote.ipAddress ?? "?"):\(remote.port ?? 0)"
            case .v6: peer = "ipv6:[\(remote.ipAddress ?? "?")]:\(remote.port ?? 0)"
            case .unixDomainSocket: peer = "unix:\(remote.pathname ?? "")"
            }
        }
        let settings = HTTP2SessionSettings(
            maxConcurrentStreams: configuration.maxConcurrentStreams,
            initialStreamWindow: configuration.initialStreamWindow,
            connectionWindow: configuration.connectionWindow,
            maxFrameSize: 16384,
            maxHeaderListSize: configuration.maxHeaderListSize,
            // A header block within the list limit fits in ~limit bytes on the wire (HPACK never
            // grows a field past name + value + 32): allow twice that in full-size frames, so an
            // oversized but not absurd block is still read whole and refused on its stream only.
            maxContinuations: max(8, 2 * Int(configuration.maxHeaderListSize) / 16384 + 1))
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
        streamOwner = ServerConnectionStreams(connection: NIOLoopBound(self, eventLoop: context.eventLoop))
        scheduleKeepalive(context: context)
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let session else { return }
        inRead = true
        defer { inRead = false }
        do {
            try buffer.withUnsafeReadableBytes { bytes throws(NGHTTP2Error) in try session.receive(bytes) }
        } catch {
            logger.debug("HTTP/2 connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
            failConnection(context: context)
        }
    }

    /// A connection error (malformed input; an HPACK failure such as a header value over
    /// nghttp2's 64 KiB limit, which leaves the connection-wide HPACK state unknown; a
    /// CONTINUATION flood): nghttp2 has queued a GOAWAY (`NGHTTP2Session.receive`). It is sent,
    /// every call on the connection is cancelled (their clients see the GOAWAY and the
    /// connection close: UNAVAILABLE), and the session is dropped. Then a lingering close: a
    /// half-close sends FIN after the GOAWAY, and bytes the peer had already sent are read and
    /// dropped until it closes (1 s at most), so the kernel does not answer them with a RST
    /// that would discard the GOAWAY from the peer's receive buffer.
    private func failConnection(context: ChannelHandlerContext) {
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

    private func tearDown() {
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

    // MARK: output

    /// Drains nghttp2's pending frames into one socket write.
    func flush() {
        guard let session, let context, !flushing else { return }
        guard context.channel.isWritable else { return }
        flushing = true
        defer { flushing = false }
        var out = outBuffer.take() ?? context.channel.allocator.buffer(capacity: 4096)
        out.clear()
        defer { if out.capacity <= 64 * 1024 { outBuffer = out } }  // a burst's big buffer is let go
        do {
            try session.send(into: &out)
        } catch {
            logger.debug("HTTP/2 send failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        if out.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
        if !session.isActive {
            context.close(promise: nil)
        } else if session.wantsWrite && context.channel.isWritable {
            scheduleFlush()  // more than one batch was pending
        }
    }

    /// Coalesces the flushes of many handler completions into one write per loop turn.
    func scheduleFlush() {
        guard !flushScheduled, !inRead, let context else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flush()
        }
    }

    // MARK: NGHTTP2SessionDelegate — requests

    func http2BeginHeaders(streamID: Int32, isRequest: Bool) {
        guard isRequest else { return }
        let stream: ServerStreamState
        if let spare = spareStreams.popLast() {
            spare.reuse(id: streamID)
            stream = spare
        } else {
            stream = ServerStreamState(id: streamID, maxMessageSize: configuration.maxReceiveMessageSize)
        }
        streams.set(stream, for: streamID)
        // Fresh already unless a header block was cut short (`http2HeadersComplete` swaps
        // them out); resetting every time destroyed an empty set of headers per call.
        if headerStreamID != 0 { requestHeaders = RequestHeaders() }
        headerStreamID = streamID
        idleTimer?.cancel()
        idleTimer = nil
    }

    func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String,
                     value: @autoclosure () -> String) {
        guard streamID == headerStreamID else { return }  // trailers: nothing in them is read
        // SETTINGS_MAX_HEADER_LIST_SIZE, enforced: past the limit nothing more is kept (nghttp2
        // still decodes the rest, as HPACK state requires), and `startCall` refuses the call.
        requestHeaders.listSize &+= size
        guard requestHeaders.listSize <= maxHeaderListSize else { return }
        requestHeaders.add(token: token, name: name, value: value)
    }

    func http2HeadersComplete(streamID: Int32, endStream: Bool) {
        var headers = RequestHeaders()
        if streamID == headerStreamID { swap(&headers, &requestHeaders) }
        headerStreamID = 0
        guard let stream = streams[streamID] else { return }
        if stream.phase == .headers {
            startCall(stream, headers: consume headers)
        }
        if endStream { requestEnded(stream) }
    }

    func http2Data(streamID: Int32, bytes: consuming [UInt8]) {
        let count = bytes.count
        guard let stream = streams[streamID] else {
            session?.consume(streamID: streamID, count: count)
            return
        }
        guard stream.phase == .receiving else {
            session?.consume(streamID: streamID, count: count)
            return
        }
        // Streaming requests hold their credit while the handler has unread messages (see
        // `creditIfCaughtUp`); the others are buffered whole and limited by the message size.
        if stream.method?.kind.isClientStreaming == true {
            stream.unconsumedBytes += count
        } else {
            session?.consume(streamID: streamID, count: count)
        }
        stream.deframer.append(consume bytes)
        do {
            while let message = try stream.deframer.next() {
                try receive(message, on: stream)
            }
        } catch let error as MessageDeframer.Failure {
            switch error {
            case .messageTooLarge(let length, let limit):
                finish(stream, error: RPCError(code: .resourceExhausted, message: "received message larger than max (\(length) vs. \(limit))"))
            case .invalidFlag(let flag):
                finish(stream, error: RPCError(code: .internalError, message: "invalid message compression flag \(flag)"))
            }
        } catch {
            finish(stream, error: RPCError(mapping: error))
        }
        creditIfCaughtUp(stream)
    }

    func http2EndOfData(streamID: Int32) {
        guard let stream = streams[streamID] else { return }
        requestEnded(stream)
    }

    func http2StreamClosed(streamID: Int32, errorCode: UInt32) {
        if headerStreamID == streamID {
            headerStreamID = 0
            requestHeaders = RequestHeaders()
        }
        guard let stream = streams.removeValue(for: streamID) else { return }
        if stream.phase != .finished {
            // RST_STREAM from the client (or connection loss) before the call ended: cancel it.
            abandon(stream, reason: RPCError(code: .cancelled, message: "call cancelled by the client"))
        } else {
            stream.deadlineTimer?.cancel()
            stream.failWriters(RPCError(code: .cancelled, message: "stream closed"))
            if stream.hasInbound { stream.inbound?.finish() }
        }
        // Nothing refers to a closed stream's object any more (handlers and timers know the
        // stream by id), so it can serve the next one.
        if spareStreams.count < 64 {
            stream.clear()
            spareStreams.append(stream)
        }
        if streams.isEmpty {
            scheduleIdleTimer()
            // Never `flush()` here: this callback runs inside `nghttp2_session_mem_send` (a
            // stream closes once its END_STREAM is sent), and a nested flush would re-enter
            // nghttp2, write later frames before the outer call's, or close the channel (and
            // free the session) under it. The flush that is running checks `isActive` when done.
            if shuttingDown { scheduleFlush() }
        }
    }

    func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk {
        guard let stream = streams[streamID] else { return .end([], trailers: []) }
        let chunk = stream.takePending(maxLength: maxLength)
        if stream.pendingCount < configuration.maxBufferedResponseBytes / 2, !stream.waitingWriters.isEmpty {
            let writers = stream.waitingWriters
            stream.waitingWriters = []
            for w in writers { w.resume() }
        }
        if stream.pendingCount == 0, let trailers = stream.trailers {
            return .end(chunk, trailers: trailers)
        }
        return chunk.isEmpty ? .deferred : .bytes(chunk)
    }

    func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32) {}

    func http2PingAckReceived() {
        pingDeadline?.cancel()
        pingDeadline = nil
    }

    // MARK: calls

    private func startCall(_ stream: ServerStreamState, headers: consuming RequestHeaders) {
        stream.phase = .receiving
        guard headers.listSize <= maxHeaderListSize else {
            // On this stream only; the connection serves on. Trailers-Only RESOURCE_EXHAUSTED
            // (`:status 200`), as gRPC C-core answers metadata over its hard limit, rather than
            // HTTP 431. Checked with grpcio 1.85: a bare 431 is reported as UNKNOWN "Received
            // http2 header with status: 431" (431 is not in gRPC's HTTP-to-status table); 431
            // with grpc-status 8 does come out RESOURCE_EXHAUSTED, but relies on the client
            // preferring grpc-status over a non-200 `:status`, which not every client does.
            // RESOURCE_EXHAUSTED names the cause, as for oversized messages.
            return finish(stream, error: RPCError(code: .resourceExhausted, message:
                "request header list size \(headers.listSize) exceeds the limit of \(maxHeaderListSize) bytes"))
        }
        let path = headers.path, contentType = headers.contentType
        guard headers.method == "POST" else {
            return respondHTTPError(stream, status: "405", message: "gRPC requires POST")
        }
        guard Self.isGRPCContentType(contentType) else {
            return respondHTTPError(stream, status: "415", message: "invalid gRPC request content-type '\(contentType)'")
        }
        let serverMethod: MethodEntry
        if let last = lastMethod, lastMethodPath == path {
            serverMethod = last
        } else {
            guard let found = router.method(for: path) else {
                return finish(stream, error: RPCError(code: .unimplemented, message: "unknown method \(path)"))
            }
            serverMethod = found
            lastMethod = found
            lastMethodPath = path
        }
        stream.method = serverMethod
        switch headers.encoding {
        case nil, "identity": break
        case "gzip": stream.requestCompressed = true
        case let other?:
            return finish(stream, error: RPCError(code: .unimplemented, message: "grpc-encoding '\(other)' is not supported (supported: identity, gzip)"))
        }
        stream.compressResponses = stream.requestCompressed && configuration.compressResponsesLikeRequests
            && headers.acceptEncoding.split(separator: ",").contains { $0.filter { $0 != " " } == "gzip" }

        var deadline: ContinuousClock.Instant?
        if let timeout = headers.timeout {
            guard let duration = GRPCTimeout.parse(timeout) else {
                return finish(stream, error: RPCError(code: .internalError, message: "malformed grpc-timeout '\(timeout)'"))
            }
            deadline = .now + duration
            if let context {
                let nanos = Self.nanos(duration)
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let id = stream.id
                stream.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                    loopBound.value.deadlineExpired(streamID: id)
                }
            }
        }
        let callContext = ServerContext(path: path, requestMetadata: headers.metadata, deadline: deadline, peer: peer,
                                        peerCertificate: peerCertificate, kind: serverMethod.kind)
        stream.context = callContext
        stream.call = callContext.call
        if serverMethod.kind.isClientStreaming {
            let (requests, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
            stream.inbound = continuation
            let handle = streamHandle(stream.id)
            let requestStream = RequestStream<[UInt8]>(base: requests, decode: { $0 }, onConsumed: { _ in handle.consumed() })
            launch(stream, requests: requestStream)
        }
    }

    private func receive(_ message: MessageDeframer.Message, on stream: ServerStreamState) throws {
        var bytes = message.bytes
        if message.compressed {
            guard stream.requestCompressed else {
                throw RPCError(code: .internalError, message: "compressed message received without grpc-encoding")
            }
            do {
                bytes = try Gzip.decompress(bytes, limit: configuration.maxReceiveMessageSize)
            } catch .tooLarge(let limit) {
                throw RPCError(code: .resourceExhausted, message: "decompressed message larger than max (\(limit))")
            } catch {
                throw RPCError(code: .internalError, message: "cannot decompress message: \(error)")
            }
        }
        if stream.hasInbound, let inbound = stream.inbound {
            stream.unreadMessages += 1
            inbound.yield(bytes)
        } else {
            if stream.method?.kind == .unary, stream.requestCount > 0 {
                throw RPCError(code: .unimplemented, message: "unary call received more than one request message")
            }
            if stream.requestCount == 0 {
                stream.firstRequest = bytes
            } else {
                stream.collected.append(bytes)
            }
            stream.requestCount += 1
        }
    }

    private func requestEnded(_ stream: ServerStreamState) {
        stream.remoteClosed = true
        guard stream.phase == .receiving else { return }
        if stream.deframer.bufferedByteCount > 0 {
            return finish(stream, error: RPCError(code: .internalError, message: "request ended inside a message"))
        }
        if stream.hasInbound, let inbound = stream.inbound {
            inbound.finish()
            return
        }
        if stream.method?.kind == .unary, stream.requestCount != 1 {
            return finish(stream, error: RPCError(code: .unimplemented, message: "unary call received no request message"))
        }
        let count = stream.requestCount
        var first: [UInt8] = []
        swap(&first, &stream.firstRequest)
        let rest = stream.collected
        stream.collected = []
        stream.requestCount = 0
        if count == 1, let startUnary = stream.method?.method.startUnary, router.interceptors.isEmpty,
           let callContext = stream.context {
            // A typed unary method without interceptors: see `ServerMethod.startUnary`.
            stream.task = startUnary(first, callContext, streamHandle(stream.id), taskExecutor)
            return
        }
        launch(stream, requests: RequestStream<[UInt8]>.completed(count == 0 ? [] : [first] + rest))
    }

    private func launch(_ stream: ServerStreamState, requests: RequestStream<[UInt8]>) {
        guard let method = stream.method?.method, let callContext = stream.context else { return }
        let handle = streamHandle(stream.id)
        let interceptors = router.interceptors
        // Single-response calls (unary, client-streaming) buffer their one message, so the
        // count check in `complete` sees it and message + status leave in one hop.
        let buffered = method.kind == .unary || method.kind == .clientStreaming
        let bufferingSink = buffered ? BufferingSink() : nil
        let sink: any ResponseSink = bufferingSink ?? LiveSink(handle: handle)
        let writer = ResponseWriter<[UInt8]>(sink: sink, encode: { $0 })
        let call: @Sendable () async -> Void = {
            var outcome: RPCError?
            do {
                if interceptors.isEmpty {
                    try await method.handler(requests, writer, callContext)
                } else {
                    try await interceptors.run(callContext) { ctx in
                        if let observer = ctx.messageObserver {
                            try await method.handler(requests.observed(by: observer), writer.observed(by: observer), ctx)
                        } else {
                            try await method.handler(requests, writer, ctx)
                        }
                    }
                }
            } catch {
                outcome = RPCError(mapping: error)
            }
            handle.complete(messages: bufferingSink?.drain() ?? [], error: outcome, context: callContext)
        }
        start(stream, call)
    }

    /// Starts a call's task on the connection's loop, or on the global executor when so configured.
    private func start(_ stream: ServerStreamState, _ call: @escaping @Sendable () async -> Void) {
        if let taskExecutor {
            // The task would be queued onto this very loop anyway: start it here instead and
            // save the hop. It is still an async task on the loop's executor; it runs on this
            // thread until it first suspends, and resumes through the executor as any other.
            stream.task = Task.immediate(executorPreference: taskExecutor, operation: call)
        } else {
            stream.task = Task(operation: call)
        }
    }

    private func deadlineExpired(streamID: Int32) {
        guard let stream = streams[streamID], stream.phase != .finished else { return }
        stream.task?.cancel()
        finish(stream, error: DeadlineStatus.exceeded)
    }

    /// The client or the connection went away: stop the handler, drop the response.
    private func abandon(_ stream: ServerStreamState, reason: RPCError) {
        stream.phase = .finished
        releaseHeldCredit(stream)
        stream.deadlineTimer?.cancel()
        stream.task?.cancel()
        if stream.hasInbound { stream.inbound?.finish(throwing: reason) }
        stream.failWriters(reason)
    }

    // MARK: responses

    func enqueue(streamID: Int32, message: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.phase != .finished else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
        }
        guard append(message, to: stream) else {
            return continuation.resume(throwing: RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))"))
        }
        submitOrResume(stream)
        if stream.pendingCount > configuration.maxBufferedResponseBytes {
            stream.waitingWriters.append(continuation)
        } else {
            continuation.resume()
        }
    }

    /// Frames (and maybe compresses) one response message into the stream's pending bytes.
    private func append(_ message: [UInt8], to stream: ServerStreamState) -> Bool {
        guard message.count <= configuration.maxSendMessageSize else { return false }
        if stream.compressResponses {
            MessageFramer.frame(Gzip.compress(message), compressed: true, into: &stream.pending)
        } else {
            MessageFramer.frame(message, compressed: false, into: &stream.pending)
        }
        return true
    }

    /// `initialMetadata`: the call's, when the caller read it already (one lock fewer).
    private func submitOrResume(_ stream: ServerStreamState, initialMetadata: Metadata? = nil) {
        if stream.responseHeadersSubmitted {
            session?.resumeData(streamID: stream.id)
        } else {
            stream.responseHeadersSubmitted = true
            var headers = OutboundHeaders(prepared: stream.compressResponses ? Self.gzipResponseHeaders : Self.responseHeaders)
            if let initial = initialMetadata ?? stream.call?.state.withLock({ $0.initial }) {
                Self.appendMetadata(initial, to: &headers.extra)
            }
            do {
                try session?.submitResponse(streamID: stream.id, headers: headers, hasBody: true)
            } catch {
                logger.debug("submit response failed", metadata: ["error": "\(error)"])
            }
        }
        scheduleFlush()
    }

    /// The response of a direct unary handler (`ServerMethod.startUnary`), serialized after the
    /// prefix's spare bytes: with nothing queued and no compression (the usual case) it
    /// becomes the pending bytes as it is, prefix written in place.
    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        guard let stream = streams[streamID], stream.phase != .finished else { return }
        var framed = framedMessage
        guard framed.count - MessageFramer.prefixLength <= configuration.maxSendMessageSize else {
            return finish(stream, error: RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))"))
        }
        if stream.compressResponses || stream.pendingCount > 0 {
            _ = append(Array(framed.dropFirst(MessageFramer.prefixLength)), to: stream)
        } else {
            MessageFramer.writePrefix(into: &framed)
            stream.pending = framed
            stream.pendingOffset = 0
        }
        finish(stream, error: nil)
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context callContext: ServerContext) {
        guard let stream = streams[streamID], stream.phase != .finished else { return }
        if error == nil {
            if stream.method?.kind == .unary || stream.method?.kind == .clientStreaming, messages.count != 1 {
                return finish(stream, error: RPCError(code: .internalError, message: "handler produced \(messages.count) responses for a single-response call"))
            }
            for m in messages where !append(m, to: stream) {
                return finish(stream, error: RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))"))
            }
        }
        finish(stream, error: error)
    }

    /// Ends a call with its status: Trailers-Only when nothing was sent yet, else trailers
    /// after the queued messages.
    private func finish(_ stream: ServerStreamState, error: RPCError?) {
        guard stream.phase != .finished else { return }
        stream.phase = .finished
        releaseHeldCredit(stream)
        stream.deadlineTimer?.cancel()
        if stream.hasInbound { stream.inbound?.finish() }
        stream.failWriters(error ?? RPCError(code: .cancelled, message: "the call has ended"))
        var trailers = OutboundHeaders(prepared: Self.okTrailers)
        if let error {
            trailers = [HeaderField("grpc-status", String(error.code.rawValue))]
            if !error.message.isEmpty { trailers.extra.append(HeaderField("grpc-message", PercentEncoding.encode(error.message))) }
            if let details = error.statusDetails { trailers.extra.append(HeaderField("grpc-status-details-bin", Base64.encode(details))) }
            Self.appendMetadata(error.trailingMetadata, to: &trailers.extra)
        }
        var initial = Metadata()
        if let call = stream.call {
            let trailing: Metadata
            (initial, trailing) = call.state.withLock { ($0.initial, $0.trailing) }
            Self.appendMetadata(trailing, to: &trailers.extra)
        }
        if stream.responseHeadersSubmitted || stream.pendingCount > 0 {
            stream.trailers = trailers
            submitOrResume(stream, initialMetadata: initial)
        } else {
            // grpc-accept-encoding here too: a call refused for its grpc-encoding must learn
            // what the server accepts (gRPC compression spec), and it ends Trailers-Only.
            var headers = OutboundHeaders(prepared: Self.responseHeaders)
            Self.appendMetadata(initial, to: &headers.extra)
            headers.extra.append(contentsOf: trailers.fields)
            stream.responseHeadersSubmitted = true
            try? session?.submitResponse(streamID: stream.id, headers: headers, hasBody: false)
            scheduleFlush()
        }
    }

    // The headers nearly every call sends, converted for nghttp2 once: calls without metadata
    // then allocate and copy nothing for their headers and trailers.
    private static let responseHeaders = PreparedHeaders([
        HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
        HeaderField("grpc-accept-encoding", "identity,gzip"),
    ])
    private static let gzipResponseHeaders = PreparedHeaders([
        HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
        HeaderField("grpc-encoding", "gzip"), HeaderField("grpc-accept-encoding", "identity,gzip"),
    ])
    private static let okTrailers = PreparedHeaders([HeaderField("grpc-status", "0")])

    /// A non-gRPC answer (wrong method or content-type): HTTP status plus a gRPC status for
    /// clients that read one.
    private func respondHTTPError(_ stream: ServerStreamState, status: String, message: String) {
        stream.phase = .finished
        let headers: OutboundHeaders = [
            HeaderField(":status", status), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-status", String(StatusCode.unknown.rawValue)),
            HeaderField("grpc-message", PercentEncoding.encode(message)),
        ]
        stream.responseHeadersSubmitted = true
        try? session?.submitResponse(streamID: stream.id, headers: headers, hasBody: false)
        scheduleFlush()
    }

    /// `application/grpc`, optionally followed by `+format` or `;params` (gRPC over HTTP/2
    /// spec); a bare prefix match would also take e.g. `application/grpc-web`, a different protocol.
    static func isGRPCContentType(_ value: String) -> Bool {
        // The usual value exactly: a plain comparison (the loop below walks a Substring's
        // UTF-8 view byte by byte, ~1,500 instructions).
        if value == "application/grpc" { return true }
        // ASCII case-insensitive prefix match, without lowercasing a copy of the header.
        var rest = value.utf8[...]
        for expected in "application/grpc".utf8 {
            guard let c = rest.popFirst(), c == expected || (c >= 0x41 && c <= 0x5A && c | 0x20 == expected) else {
                return false
            }
        }
        return rest.isEmpty || rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: ";")
    }

    private static func appendMetadata(_ metadata: Metadata, to headers: inout [HeaderField]) {
        for entry in metadata where !Metadata.isReserved(entry.key) {
            switch entry.value {
            case .string(let s): headers.append(HeaderField(entry.key, s))
            case .binary(let b): headers.append(HeaderField(entry.key, Base64.encode(b)))
            }
        }
    }

    /// The handler read one message.
    func consumed(streamID: Int32) {
        guard let stream = streams[streamID], stream.unreadMessages > 0 else { return }
        stream.unreadMessages -= 1
        creditIfCaughtUp(stream)
        scheduleFlush()
    }

    /// Flow control for streaming requests: received bytes are credited back once the handler
    /// has read every message handed to it. While it lags, the peer's window runs down and it
    /// stops sending (memory stays bounded by the stream window). Crediting per message read
    /// instead deadlocks on a message larger than the stream window (1 MiB): its bytes could
    /// never all arrive, since they are only credited once it has been read.
    private func creditIfCaughtUp(_ stream: ServerStreamState) {
        guard stream.phase == .receiving, stream.unreadMessages == 0, stream.unconsumedBytes > 0 else { return }
        session?.consume(streamID: stream.id, count: stream.unconsumedBytes)
        stream.unconsumedBytes = 0
    }

    /// A call that ends with request bytes its handler never read still owes the peer their
    /// connection-level credit: nghttp2 returns none by itself (automatic window updates are
    /// off), so without this each such call would shrink the connection window for good.
    private func releaseHeldCredit(_ stream: ServerStreamState) {
        let count = stream.unconsumedBytes
        stream.unconsumedBytes = 0
        stream.unreadMessages = 0
        session?.consumeConnection(count: count)
    }

    private func streamHandle(_ id: Int32) -> StreamHandle {
        StreamHandle(owner: streamOwner!, streamID: id)
    }

    // MARK: connection lifetime

    private func beginGracefulShutdown() {
        guard !shuttingDown, let context else { return }
        shuttingDown = true
        session?.submitShutdownNotice()
        flush()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // One round trip later, the final GOAWAY names the last stream we will serve.
        context.eventLoop.scheduleTask(in: .milliseconds(100)) {
            loopBound.value.session?.submitGoAway()
            loopBound.value.flush()
            if loopBound.value.streams.isEmpty { loopBound.value.context?.close(promise: nil) }
        }
        context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(configuration.keepalive.gracePeriod))) {
            loopBound.value.context?.close(promise: nil)
        }
    }

    private func scheduleKeepalive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        if let maxAge = configuration.keepalive.maxAge {
            maxAgeTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(maxAge))) {
                loopBound.value.beginGracefulShutdown()
            }
        }
        if let interval = configuration.keepalive.pingInterval {
            let timeout = configuration.keepalive.pingTimeout
            pingTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: .nanoseconds(Self.nanos(interval)), delay: .nanoseconds(Self.nanos(interval))) { _ in
                let handler = loopBound.value
                guard handler.pingDeadline == nil else { return }
                handler.session?.submitPing()
                handler.flush()
                handler.pingDeadline = handler.context?.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(timeout))) {
                    loopBound.value.logger.debug("keepalive ping timed out", metadata: ["peer": "\(loopBound.value.peer)"])
                    loopBound.value.context?.close(promise: nil)
                }
            }
        }
        scheduleIdleTimer()
    }

    private func scheduleIdleTimer() {
        guard let maxIdle = configuration.keepalive.maxIdle, let context, idleTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(maxIdle))) {
            loopBound.value.idleTimer = nil
            if loopBound.value.streams.isEmpty { loopBound.value.beginGracefulShutdown() }
        }
    }

    /// Saturating: `grpc-timeout: 99999999H` (about 11,000 years) overflows Int64 nanoseconds,
    /// and a trap there would let any client crash the server. Capped at ~146 years, which
    /// also keeps NIO's `now + amount` deadline arithmetic in range.
    static func nanos(_ d: Duration) -> Int64 {
        let cap = Int64.max / 2
        let (seconds, attoseconds) = d.components
        guard seconds < cap / 1_000_000_000 else { return cap }
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Sent to every connection when the server shuts down gracefully.
struct GracefulShutdownEvent: Sendable {}

/// The connection as its handler tasks reach it (`ServerStreamOwner`): every call hops onto
/// the connection's loop, unless the task already runs there. One per connection.
final class ServerConnectionStreams: ServerStreamOwner {
    let connection: NIOLoopBound<ServerConnectionHandler>

    init(connection: NIOLoopBound<ServerConnectionHandler>) {
        self.connection = connection
    }

    func write(streamID: Int32, message: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.eventLoop.execute {
                self.connection.value.enqueue(streamID: streamID, message: message, continuation: continuation)
            }
        }
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context: ServerContext) {
        // Handlers run on the connection's loop by default: no hop needed then. `complete`
        // only queues frames (nghttp2 allows submitting from inside its callbacks, where a
        // handler started by `Task.immediate` may finish); the write happens at the flush.
        if connection.eventLoop.inEventLoop {
            connection.value.complete(streamID: streamID, messages: messages, error: error, context: context)
            return
        }
        connection.eventLoop.execute {
            self.connection.value.complete(streamID: streamID, messages: messages, error: error, context: context)
        }
    }

    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        if connection.eventLoop.inEventLoop {
            connection.value.complete(streamID: streamID, framedMessage: framedMessage)
            return
        }
        let message = framedMessage
        connection.eventLoop.execute {
            self.connection.value.complete(streamID: streamID, framedMessage: message)
        }
    }

    func consumed(streamID: Int32) {
        connection.eventLoop.execute { self.connection.value.consumed(streamID: streamID) }
    }
}
