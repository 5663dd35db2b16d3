import GRPCH2Core
import NIOCore

/// A gRPC-Web or Connect call on an HTTP/2 stream (browsers under TLS negotiate `h2`, and
/// `buf curl --http2-prior-knowledge` speaks them over h2c). Its request body is read whole,
/// like HTTP/1.1's; its response goes out as HTTP/2 DATA ending the stream, with no trailers
/// (each protocol carries its status in the body or the head: `WebResponseEncoder`).
final class HTTP2WebStream {
    let encoder: WebResponseEncoder
    let allowedOrigin: String?
    /// The request headers the body's decoding reads (encodings), by lower-case name.
    var requestHeaders: [String: String]
    var body: [UInt8] = []
    var bodyOverLimit = false
    var headSent = false
    var deadline: ContinuousClock.Instant?

    init(encoder: WebResponseEncoder, allowedOrigin: String?, requestHeaders: [String: String]) {
        self.encoder = encoder
        self.allowedOrigin = allowedOrigin
        self.requestHeaders = requestHeaders
    }
}

extension ServerConnectionHandler {
    /// `get`: a Connect GET's query (`startGet`), whose message is the body.
    func startWebCall(_ stream: ServerStreamState, headers: consuming RequestHeaders, kind: WebRequestKind,
                      get: Result<ConnectGetRequest, RPCError>? = nil) {
        let path = String(headers.path.prefix { $0 != "?" })
        let metadata = headers.metadata
        var read: [String: String] = [:]
        for name in ["content-encoding", "connect-content-encoding", "connect-timeout-ms", "origin",
                     "accept-encoding", "connect-accept-encoding", "if-none-match"] {
            read[name] = metadata.firstString(forKey: name)
        }
        read["grpc-encoding"] = headers.encoding
        read["grpc-timeout"] = headers.timeout
        read["grpc-accept-encoding"] = headers.acceptEncoding
        var encoder = WebResponseEncoder(kind: kind, path: path, router: router, configuration: configuration, header: { read[$0] })
        if get != nil {
            encoder.isGet = true
            encoder.ifNoneMatch = read["if-none-match"]
        }
        let web = HTTP2WebStream(encoder: encoder, allowedOrigin: read["origin"].flatMap { configuration.web.allowedOrigin($0) },
                                 requestHeaders: read)
        stream.web = web
        // The body is buffered whole (no streamed requests): every DATA byte is credited back at once.
        stream.machine.callStarted(kind: .unary, requestCompressed: false, compressResponses: false)
        guard let method = router.method(for: path) else {
            return finish(stream, error: RPCError(code: .unimplemented, message: "unknown method \(path)"))
        }
        stream.method = method
        if let get {
            // Whether the method may be called so comes first (a 405 for a POST-only method, however its query reads).
            if let refusal = ConnectGetRequest.refusal(for: method.kind, path: path,
                                                       hasNoSideEffects: router.messageTranscoder?.hasNoSideEffects(path: path) ?? false) {
                return finish(stream, error: refusal)
            }
            switch get {
            case .failure(let error): return finish(stream, error: error)
            case .success(let request):
                web.body = request.message
                web.requestHeaders["content-encoding"] = request.compression
            }
        }
        if let refusal = kind.refusal(for: method.kind, path: path) { return finish(stream, error: refusal) }
        let timeout: Duration?
        switch kind.timeout(from: { read[$0] }) {
        case .success(let t): timeout = t
        case .failure(let error): return finish(stream, error: error)
        }
        web.deadline = timeout.map { .now + $0 }
        if let timeout { scheduleDeadline(stream, after: timeout) }
        var callMetadata = Metadata()
        for entry in metadata where !WebResponseEncoder.isProtocolHeader(entry.key) {
            switch entry.value {
            case .string(let s): callMetadata.addString(s, forKey: entry.key)
            case .binary(let b): callMetadata.addBinary(b, forKey: entry.key)
            }
        }
        let callContext = ServerContext(path: path, requestMetadata: callMetadata, deadline: web.deadline, peer: peer,
                                        peerCertificate: peerCertificate, kind: method.kind, wireProtocol: kind.webProtocol.wireName)
        stream.context = callContext
        stream.call = callContext.call
    }

    /// DATA of a web call: kept whole, up to the largest message (base64-inflated, framed).
    func receiveWebData(_ bytes: consuming [UInt8], on stream: ServerStreamState, web: HTTP2WebStream) {
        session?.consume(streamID: stream.id, count: bytes.count)
        guard stream.phase == .receiving, !web.bodyOverLimit, !web.encoder.isGet else { return }  // a GET's message is its query
        if web.body.count + bytes.count > WebRequestDecoding.bodyLimit(maxMessageSize: configuration.maxReceiveMessageSize) {
            web.bodyOverLimit = true
            web.body = []
            return finish(stream, error: RPCError(code: .resourceExhausted, message: "request body larger than max"))
        }
        web.body.append(contentsOf: bytes)
    }

    /// The request is whole: decode its message and start the handler.
    func webRequestEnded(_ stream: ServerStreamState, web: HTTP2WebStream) {
        _ = stream.machine.requestEnded(partialMessage: false)
        guard stream.phase == .receiving, let path = stream.context?.path else { return }
        let decoding = WebRequestDecoding(kind: web.encoder.kind, path: path, maxMessageSize: configuration.maxReceiveMessageSize,
                                          transcoder: router.messageTranscoder)
        do throws(RPCError) {
            let message = try decoding.message(body: web.body, header: { web.requestHeaders[$0] })
            web.body = []
            // The same start as a gRPC call's one message: a typed unary method's direct path.
            startHandler(stream, count: 1, first: message, rest: [])
        } catch {
            finish(stream, error: error)
        }
    }

    /// The response head of a web call that streams messages (its first write).
    func webResponseHead(_ web: HTTP2WebStream, initial: Metadata) -> OutboundHeaders {
        web.headSent = true
        return Self.outbound(web.encoder.head(initial: initial), origin: web.allowedOrigin)
    }

    /// Ends a web call: its protocol's last bytes after the queued messages, then END_STREAM
    /// on the last DATA frame (empty trailers: `http2BodyChunk`).
    func finishWeb(_ stream: ServerStreamState, web: HTTP2WebStream, error: RPCError?) {
        guard let action = stream.machine.finish(responsePending: stream.pendingCount > 0) else { return }
        switch action {
        case .trailers(let release), .trailersOnly(let release): session?.consumeConnection(count: release)
        }
        stream.deadlineTimer?.cancel()
        stream.failWriters(error ?? RPCError(code: .cancelled, message: "the call has ended"))
        var error = error
        if let e = error { error?.code = DeadlineStatus.resolve(e.code, deadline: web.deadline) }
        let (initial, trailing) = stream.call?.state.withLock { ($0.initial, $0.trailing) } ?? (Metadata(), Metadata())
        var messages: [[UInt8]] = []
        if case .connectUnary = web.encoder.kind.webProtocol {
            // Its one message is the whole body, sent with a content-length: taken back from the queue.
            messages = [Array(stream.pending[stream.pendingOffset...])]
            stream.pending = []
            stream.pendingOffset = 0
        }
        let (head, body) = web.encoder.end(error: error, messages: messages, initial: initial, trailing: trailing, headSent: web.headSent)
        stream.pending += body
        stream.trailers = []
        if let head {
            web.headSent = true
            try? session?.submitResponse(streamID: stream.id, headers: Self.outbound(head, origin: web.allowedOrigin), hasBody: true)
        } else {
            session?.resumeData(streamID: stream.id)
        }
        scheduleFlush()
    }

    /// CORS preflight over HTTP/2.
    func respondToWebPreflight(_ stream: ServerStreamState, headers: RequestHeaders) {
        stream.machine.refuse()
        let origin = headers.metadata.firstString(forKey: "origin").flatMap { configuration.web.allowedOrigin($0) }
        var fields = [HeaderField(":status", origin == nil ? "403" : "204")]
        if let origin {
            fields += WebCORS.preflightFields(origin: origin, requestedHeaders: headers.metadata.firstString(forKey: "access-control-request-headers"))
                .map { HeaderField($0.0, $0.1) }
        }
        try? session?.submitResponse(streamID: stream.id, headers: OutboundHeaders(extra: fields), hasBody: false)
        scheduleFlush()
    }

    private static func outbound(_ head: WebResponseEncoder.Head, origin: String?) -> OutboundHeaders {
        var fields = [HeaderField(":status", String(head.status))] + head.fields.map { HeaderField($0.0, $0.1) }
        if let origin { fields += WebResponseEncoder.corsFields(origin: origin, exposing: head).map { HeaderField($0.0, $0.1) } }
        return OutboundHeaders(extra: fields)
    }
}
