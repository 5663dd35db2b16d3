import GRPCH2Core
import NIOCore

/// Starting calls: request validation, routing, deadlines, request messages, the handler task.
extension ServerConnectionHandler {
    // MARK: calls

    func startCall(_ stream: ServerStreamState, headers: consuming RequestHeaders) {
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
        if configuration.web.enabled, headers.method == "OPTIONS" { return respondToWebPreflight(stream, headers: headers) }
        if configuration.web.enabled, headers.method == "GET" || headers.method == "HEAD" { return startGet(stream, headers: headers) }
        guard headers.method == "POST" else {
            return respondHTTPError(stream, status: "405", message: "gRPC requires POST")
        }
        guard Self.isGRPCContentType(contentType) else {
            if configuration.web.enabled, let kind = WebRequestKind(contentType: contentType) {
                return startWebCall(stream, headers: headers, kind: kind)
            }
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
        let requestCompressed: Bool
        switch headers.encoding {
        case nil, "identity": requestCompressed = false
        case "gzip": requestCompressed = true
        case let other?:
            return finish(stream, error: RPCError(code: .unimplemented, message: "grpc-encoding '\(other)' is not supported (supported: identity, gzip)"))
        }
        stream.machine.callStarted(
            kind: serverMethod.kind, requestCompressed: requestCompressed,
            compressResponses: requestCompressed && configuration.compressResponsesLikeRequests
                && headers.acceptEncoding.split(separator: ",").contains { $0.filter { $0 != " " } == "gzip" })

        var deadline: ContinuousClock.Instant?
        if let timeout = headers.timeout {
            guard let duration = GRPCTimeout.parse(timeout) else {
                return finish(stream, error: RPCError(code: .internalError, message: "malformed grpc-timeout '\(timeout)'"))
            }
            deadline = .now + duration
            scheduleDeadline(stream, after: duration)
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

    func scheduleDeadline(_ stream: ServerStreamState, after duration: Duration) {
        guard let context else { return }
        let nanos = Self.nanos(duration)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let id = stream.id
        stream.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
            loopBound.value.deadlineExpired(streamID: id)
        }
    }

    func receive(_ message: MessageDeframer.Message, on stream: ServerStreamState) throws {
        var bytes = message.bytes
        if message.compressed {
            if let refused = stream.machine.checkCompression(true) { throw refused }
            do {
                bytes = try Gzip.decompress(bytes, limit: configuration.maxReceiveMessageSize)
            } catch .tooLarge(let limit) {
                throw RPCError(code: .resourceExhausted, message: "decompressed message larger than max (\(limit))")
            } catch {
                throw RPCError(code: .internalError, message: "cannot decompress message: \(error)")
            }
        }
        switch stream.machine.messageReceived(bytes) {
        case .deliver(let message):
            if stream.hasInbound, let inbound = stream.inbound { inbound.yield(message) }
        case .collected, .dropped:
            break
        case .fail(let error):
            throw error
        }
    }

    func requestEnded(_ stream: ServerStreamState) {
        if let web = stream.web { return webRequestEnded(stream, web: web) }
        switch stream.machine.requestEnded(partialMessage: stream.deframer.bufferedByteCount > 0) {
        case .none:
            return
        case .fail(let error):
            return finish(stream, error: error)
        case .finishRequestStream:
            if stream.hasInbound, let inbound = stream.inbound { inbound.finish() }
        case .startHandler(let count, let first, let rest):
            startHandler(stream, count: count, first: first, rest: rest)
        }
    }

    func startHandler(_ stream: ServerStreamState, count: Int, first: [UInt8], rest: [[UInt8]]) {
        if count == 1, let startUnary = stream.method?.method.startUnary, let callContext = stream.context {
            // A typed unary method (its interceptors composed in): see `ServerMethod.startUnary`.
            stream.task = startUnary(first, callContext, streamHandle(stream.id), taskExecutor)
            return
        }
        launch(stream, requests: RequestStream<[UInt8]>.completed(count == 0 ? [] : [first] + rest))
    }

    func launch(_ stream: ServerStreamState, requests: RequestStream<[UInt8]>) {
        guard let method = stream.method, let callContext = stream.context else { return }
        start(stream, method.callBody(requests: requests, context: callContext, handle: streamHandle(stream.id)))
    }

    /// Starts a call's task on the connection's loop, or on the global executor when so configured.
    func start(_ stream: ServerStreamState, _ call: @escaping @Sendable () async -> Void) {
        if let taskExecutor {
            // The task would be queued onto this very loop anyway: start it here instead and
            // save the hop. It is still an async task on the loop's executor; it runs on this
            // thread until it first suspends, and resumes through the executor as any other.
            stream.task = Task.immediate(executorPreference: taskExecutor, operation: call)
        } else {
            stream.task = Task(operation: call)
        }
    }

    func deadlineExpired(streamID: Int32) {
        guard let stream = streams[streamID], stream.phase != .finished else { return }
        stream.task?.cancel()
        if let task = stream.task { cancelledTasks?.track(task) }
        finish(stream, error: DeadlineStatus.exceeded)
    }

    /// The client or the connection went away: stop the handler, drop the response.
    func abandon(_ stream: ServerStreamState, reason: RPCError) {
        session?.consumeConnection(count: stream.machine.abandon())
        stream.deadlineTimer?.cancel()
        stream.task?.cancel()
        if let task = stream.task { cancelledTasks?.track(task) }
        if stream.hasInbound { stream.inbound?.finish(throwing: reason) }
        stream.failWriters(reason)
    }
}
