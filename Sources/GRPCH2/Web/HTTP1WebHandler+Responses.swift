import GRPCH2Core
import NIOCore
import NIOHTTP1

/// Responses of web calls: each protocol's head, message framing and status form.
///
/// | protocol | messages | status |
/// |---|---|---|
/// | gRPC-Web | enveloped (base64 per chunk for `-text`) | a trailer block framed with flag 0x80 |
/// | Connect unary | the one message, bare | HTTP status + JSON error body; trailers as `trailer-` headers |
/// | Connect streaming | enveloped | end-of-stream JSON framed with flag 0x02 |
extension HTTP1WebHandler {
    func write(callID: Int32, message: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        guard let call, call.id == callID, !call.finished, let context else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
        }
        let chunk: [UInt8]
        do throws(RPCError) {
            chunk = try encode(message, for: call)
        } catch {
            return continuation.resume(throwing: error)
        }
        sendHead(call, status: .ok, contentLength: nil)
        let promise = context.eventLoop.makePromise(of: Void.self)
        // Back-pressure: the handler's next write waits until this one has reached the socket.
        promise.futureResult.whenComplete { result in
            switch result {
            case .success: continuation.resume()
            case .failure: continuation.resume(throwing: RPCError(code: .cancelled, message: "the client went away"))
            }
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: promise)
    }

    func complete(callID: Int32, messages: [[UInt8]], error: RPCError?) {
        guard let call, call.id == callID, !call.finished else { return }
        var outcome = error
        var encoded: [[UInt8]] = []
        if outcome == nil, call.method?.kind == .unary, messages.count != 1 {
            outcome = RPCError(code: .internalError, message: "handler produced \(messages.count) responses for a single-response call")
        }
        if outcome == nil {
            do throws(RPCError) {
                for message in messages { encoded.append(try encode(message, for: call)) }
            } catch {
                outcome = error
                encoded = []
            }
        }
        finish(call, error: outcome, messages: encoded)
    }

    /// One response message in the call's form (size-checked, JSON if asked, framed).
    private func encode(_ message: [UInt8], for call: WebCall) throws(RPCError) -> [UInt8] {
        guard message.count <= configuration.maxSendMessageSize else {
            throw RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))")
        }
        var payload = message
        if call.kind.codec == .json {
            guard let transcoder = router.messageTranscoder else {
                throw RPCError(code: .unimplemented, message: "this server does not map its messages to JSON")
            }
            payload = try transcoder.response(toJSON: message, path: call.path)
        }
        switch call.kind.webProtocol {
        case .connectUnary: return payload
        case .connectStreaming: return WebEnvelope.frame(payload)
        case .grpcWeb(let text):
            let framed = WebEnvelope.frame(payload)
            return text ? Array(Base64.encode(framed, padded: true).utf8) : framed
        }
    }

    /// Ends a call: its remaining messages and its status, in its protocol's form.
    func finish(_ call: WebCall, error: RPCError?, messages: [[UInt8]]) {
        guard !call.finished, let context else { return }
        call.finished = true
        call.deadlineTimer?.cancel()
        var error = error
        if let e = error { error?.code = DeadlineStatus.resolve(e.code, deadline: call.deadline) }
        let (initial, trailing) = call.serverContext?.call.state.withLock { ($0.initial, $0.trailing) } ?? (Metadata(), Metadata())
        var body: [UInt8] = []
        switch call.kind.webProtocol {
        case .connectUnary:
            var extra: [(String, String)] = Self.fields(initial.merged(with: Metadata()))
            extra += Self.fields((error?.trailingMetadata ?? Metadata()).merged(with: trailing)).map { ("trailer-" + $0.0, $0.1) }
            if let error {
                body = ConnectError.body(error)
                sendHead(call, status: HTTPResponseStatus(statusCode: ConnectError.httpStatus(of: error.code)),
                         contentType: "application/json", contentLength: body.count, extra: extra)
            } else {
                body = messages.first ?? []
                sendHead(call, status: .ok, contentLength: body.count, extra: extra)
            }
        case .grpcWeb(let text):
            sendHead(call, status: .ok, contentLength: nil, initial: initial)
            for m in messages { body += m }
            let trailers = WebEnvelope.grpcWebTrailers(status: error, trailing: trailing)
            body += text ? Array(Base64.encode(trailers, padded: true).utf8) : trailers
        case .connectStreaming:
            sendHead(call, status: .ok, contentLength: nil, initial: initial)
            for m in messages { body += m }
            let end = ConnectError.endStream(error, trailing: (error?.trailingMetadata ?? Metadata()).merged(with: trailing))
            body += WebEnvelope.frame(end, flags: WebEnvelope.connectEndStreamFlag)
        }
        if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil) }
        endResponse(keepAlive: call.keepAlive)
        if self.call === call { self.call = nil }
    }

    /// The response head, once per call: content type, metadata, CORS.
    private func sendHead(_ call: WebCall, status: HTTPResponseStatus, contentType: String? = nil, contentLength: Int?,
                          initial: Metadata = Metadata(), extra: [(String, String)] = []) {
        guard !call.headSent, let context else { return }
        call.headSent = true
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType ?? call.kind.responseContentType)
        if let contentLength { headers.add(name: "content-length", value: String(contentLength)) }
        for (name, value) in Self.fields(initial.merged(with: Metadata())) + extra { headers.add(name: name, value: value) }
        if !call.keepAlive { headers.add(name: "connection", value: "close") }
        if let origin = call.allowedOrigin {
            // The browser shows a response header to scripts only when it is exposed.
            let exposed = Set(headers.map { $0.name.lowercased() }).subtracting(["content-type", "content-length", "connection"])
            Self.addCORS(to: &headers, origin: origin)
            headers.add(name: "access-control-expose-headers",
                        value: (["grpc-status", "grpc-message", "grpc-status-details-bin"] + exposed.sorted()).joined(separator: ", "))
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: call.version, status: status, headers: headers))), promise: nil)
    }

    private func endResponse(keepAlive: Bool) {
        guard let context else { return }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    /// A request that is no call at all (wrong method or content type): plain text.
    func respondPlain(_ head: HTTPRequestHead, status: HTTPResponseStatus, allowedOrigin: String?, _ text: String) {
        guard let context else { return }
        let body = Array((text + "\n").utf8)
        var headers = HTTPHeaders([("content-type", "text/plain; charset=utf-8"), ("content-length", String(body.count))])
        if let allowedOrigin { Self.addCORS(to: &headers, origin: allowedOrigin) }
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        endResponse(keepAlive: head.isKeepAlive)
    }

    /// CORS preflight: allowed origins get the methods and the headers they asked for.
    func respondToPreflight(_ head: HTTPRequestHead, allowedOrigin: String?) {
        guard let context else { return }
        guard let allowedOrigin else {
            return respondPlain(head, status: .forbidden, allowedOrigin: nil,
                                "origin '\(head.headers.first(name: "origin") ?? "")' may not call this server (see --cors-origin)")
        }
        var headers = HTTPHeaders([("content-length", "0")])
        Self.addCORS(to: &headers, origin: allowedOrigin)
        headers.add(name: "access-control-allow-methods", value: "POST, OPTIONS")
        let asked = head.headers.first(name: "access-control-request-headers")
        headers.add(name: "access-control-allow-headers", value: asked ?? "content-type, connect-protocol-version, connect-timeout-ms, grpc-timeout, x-grpc-web, x-user-agent, authorization")
        headers.add(name: "access-control-max-age", value: "7200")
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .noContent, headers: headers))), promise: nil)
        endResponse(keepAlive: head.isKeepAlive)
    }

    private static func addCORS(to headers: inout HTTPHeaders, origin: String) {
        headers.add(name: "access-control-allow-origin", value: origin)
        if origin != "*" { headers.add(name: "vary", value: "origin") }
    }

    private static func fields(_ entries: [Metadata.Entry]) -> [(String, String)] {
        entries.map { ($0.key, $0.wireValue) }
    }
}
