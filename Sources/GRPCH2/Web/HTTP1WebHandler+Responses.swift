import GRPCH2Core
import NIOCore
import NIOHTTP1

/// Responses of web calls over HTTP/1.1: `WebResponseEncoder` writes each protocol's form;
/// this sends it (chunked for streamed responses) and keeps the connection's HTTP/1.1 rules.
extension HTTP1WebHandler {
    func write(callID: Int32, message: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        guard let call, call.id == callID, !call.finished, let context else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
        }
        let chunk: [UInt8]
        do throws(RPCError) {
            chunk = try call.encoder.message(message)
        } catch {
            return continuation.resume(throwing: error)
        }
        if !call.headSent { sendHead(call, call.encoder.head(initial: initialMetadata(call))) }
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
                for message in messages { encoded.append(try call.encoder.message(message)) }
            } catch {
                outcome = error
                encoded = []
            }
        }
        finish(call, error: outcome, messages: encoded)
    }

    /// Ends a call: its remaining messages and its status, in its protocol's form.
    func finish(_ call: WebCall, error: RPCError?, messages: [[UInt8]]) {
        guard !call.finished, let context else { return }
        call.finished = true
        call.deadlineTimer?.cancel()
        var error = error
        if let e = error { error?.code = DeadlineStatus.resolve(e.code, deadline: call.deadline) }
        let trailing = call.serverContext?.call.state.withLock { $0.trailing } ?? Metadata()
        let (head, body) = call.encoder.end(error: error, messages: messages, initial: initialMetadata(call), trailing: trailing,
                                            headSent: call.headSent)
        if let head { sendHead(call, head) }
        if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil) }
        endResponse(keepAlive: call.keepAlive)
        if self.call === call { self.call = nil }
    }

    private func initialMetadata(_ call: WebCall) -> Metadata {
        call.serverContext?.call.state.withLock { $0.initial } ?? Metadata()
    }

    private func sendHead(_ call: WebCall, _ head: WebResponseEncoder.Head) {
        guard !call.headSent, let context else { return }
        call.headSent = true
        var headers = HTTPHeaders(head.fields)
        if let origin = call.allowedOrigin { headers.add(contentsOf: WebResponseEncoder.corsFields(origin: origin, exposing: head)) }
        if !call.keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: head.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: call.version, status: status, headers: headers))), promise: nil)
    }

    func endResponse(keepAlive: Bool) {
        guard let context else { return }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if keepAlive { awaitNextRequest() }
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
        if let allowedOrigin { headers.add(contentsOf: WebResponseEncoder.corsFields(origin: allowedOrigin, exposing: nil)) }
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
        headers.add(contentsOf: WebCORS.preflightFields(origin: allowedOrigin, requestedHeaders: head.headers.first(name: "access-control-request-headers")))
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .noContent, headers: headers))), promise: nil)
        endResponse(keepAlive: head.isKeepAlive)
    }
}
