import GRPCH2Core
import NIOCore

/// Response messages, headers, status and trailers, and flow-control credit.
extension ServerConnectionHandler {
    // MARK: responses

    func enqueue(streamID: Int32, message: [UInt8], continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.phase != .finished else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
        }
        if let refused = append(message, to: stream) { return continuation.resume(throwing: refused) }
        submitOrResume(stream)
        if stream.pendingCount > configuration.maxBufferedResponseBytes {
            stream.waitingWriters.append(continuation)
        } else {
            continuation.resume()
        }
    }

    /// `enqueue` for a writer already on the loop: queues the message; false when the writer
    /// must wait for the buffer to drain (`awaitDrain`) before writing more.
    func enqueueNow(streamID: Int32, message: [UInt8]) throws -> Bool {
        guard let stream = streams[streamID], stream.phase != .finished else {
            throw RPCError(code: .cancelled, message: "the call has ended")
        }
        if let refused = append(message, to: stream) { throw refused }
        submitOrResume(stream)
        return stream.pendingCount <= configuration.maxBufferedResponseBytes
    }

    /// Resumes `continuation` once the stream's buffer is under its limit again (at once when
    /// it already is); throws when the call has ended.
    func awaitDrain(streamID: Int32, continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.phase != .finished else {
            return continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
        }
        if stream.pendingCount > configuration.maxBufferedResponseBytes {
            stream.waitingWriters.append(continuation)
        } else {
            continuation.resume()
        }
    }

    /// Takes what a push source has ready into the stream (`ResponsePusher`): all of it, in
    /// one submission, unless the stream's buffer is over its push limit — the source is then
    /// parked and taken from again once the buffer has half drained (`http2BodyChunk`), and
    /// until then it holds (and drops, its own way) what arrives.
    func takePushed(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?) {
        guard let stream = streams[streamID], stream.phase != .finished else { return }
        if stream.pendingCount > configuration.pushBufferLimit {
            stream.parkedPush = (source, sent)
            return
        }
        // The connection's scratch array, reused: a take allocates nothing here.
        var messages = pushScratch
        pushScratch = []
        defer {
            messages.removeAll(keepingCapacity: true)
            pushScratch = messages
        }
        source.takeResponses(into: &messages)
        guard !messages.isEmpty else { return }
        // Moved out in order (`removeFirst` shifts a few words: ≤ the source's backlog), not
        // iterated: no retain of each message's shared storage (a cache miss: the publishing
        // thread wrote its count last).
        while !messages.isEmpty {
            let message = messages.removeFirst()
            if let refused = append(framed: message, to: stream) {
                stream.task?.cancel()  // its handler waits for its source, not for a write
                return finish(stream, error: refused)
            }
            sent?()
        }
        submitOrResume(stream)
    }

    /// Reads each pushed stream's state before the push job takes from them: a fan-out's
    /// streams are cold (each touched every few dozen ms), and `takePushed` missed on each in
    /// turn, its source's lock keeping the next miss from starting early. Independent loads
    /// here overlap (docs/BENCHMARKS.md "Subscriptions, eighth pass").
    func touchStreams(_ requests: [ServerConnectionStreams.PushRequest]) {
        var touched: Int32 = 0
        for i in requests.indices {
            // Its first bytes, and its pending bytes' count (their buffer, another object).
            if let stream = streams[requests[i].streamID] { touched &+= stream.id &+ Int32(truncatingIfNeeded: stream.pending.count) }
        }
        streamsTouched = touched  // kept, so the loads are not optimised away
    }

    /// Takes a parked push source's messages again, after the current nghttp2 call.
    func unparkPush(_ stream: ServerStreamState) {
        guard let parked = stream.parkedPush, let context else { return }
        stream.parkedPush = nil
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let id = stream.id
        context.eventLoop.execute {
            loopBound.value.takePushed(streamID: id, source: parked.source, sent: parked.sent)
        }
    }

    /// `append` for a message framed already (`ResponsePushSource`): with nothing pending and
    /// no compression (an idle gRPC stream, the usual case in a fan-out) the shared framed
    /// array becomes the pending bytes as it is — no copy, no allocation for this stream.
    private func append(framed: consuming FramedMessage, to stream: ServerStreamState) -> RPCError? {
        if stream.web != nil || stream.compressResponses { return append(Array(framed.message), to: stream) }
        guard framed.messageCount <= configuration.maxSendMessageSize else {
            return RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))")
        }
        if stream.pendingCount == 0 {
            stream.pending = framed.bytes
            stream.pendingOffset = 0
        } else {
            MessageFramer.reserve(&stream.pending, adding: framed.bytes.count)
            stream.pending.append(contentsOf: framed.bytes)
        }
        return nil
    }

    /// Frames (and maybe compresses) one response message into the stream's pending bytes;
    /// the error that ends the call when it cannot be sent.
    private func append(_ message: [UInt8], to stream: ServerStreamState) -> RPCError? {
        if let web = stream.web {
            do throws(RPCError) {
                stream.pending += try web.encoder.message(message)
                return nil
            } catch {
                return error
            }
        }
        guard message.count <= configuration.maxSendMessageSize else {
            return RPCError(code: .resourceExhausted, message: "response message larger than max (\(configuration.maxSendMessageSize))")
        }
        if stream.compressResponses {
            MessageFramer.frame(Gzip.compress(message), compressed: true, into: &stream.pending)
        } else {
            MessageFramer.frame(message, compressed: false, into: &stream.pending)
        }
        return nil
    }

    /// `initialMetadata`: the call's, when the caller read it already (one lock fewer).
    func submitOrResume(_ stream: ServerStreamState, initialMetadata: Metadata? = nil) {
        if !stream.machine.responseHeadersNeeded() {
            session?.resumeData(streamID: stream.id)
        } else if let web = stream.web {
            let initial = initialMetadata ?? stream.call?.state.withLock({ $0.initial }) ?? Metadata()
            try? session?.submitResponse(streamID: stream.id, headers: webResponseHead(web, initial: initial), hasBody: true)
        } else {
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
        if stream.compressResponses || stream.pendingCount > 0 || stream.web != nil {
            if let refused = append(Array(framed.dropFirst(MessageFramer.prefixLength)), to: stream) { return finish(stream, error: refused) }
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
            for m in messages {
                if let refused = append(m, to: stream) { return finish(stream, error: refused) }
            }
        }
        finish(stream, error: error)
    }

    /// Ends a call with its status: Trailers-Only when nothing was sent yet, else trailers
    /// after the queued messages.
    func finish(_ stream: ServerStreamState, error: RPCError?) {
        if let web = stream.web { return finishWeb(stream, web: web, error: error) }
        guard let action = stream.machine.finish(responsePending: stream.pendingCount > 0) else { return }
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
        switch action {
        case .trailers(let release):
            session?.consumeConnection(count: release)
            stream.trailers = trailers
            submitOrResume(stream, initialMetadata: initial)
        case .trailersOnly(let release):
            session?.consumeConnection(count: release)
            // grpc-accept-encoding here too: a call refused for its grpc-encoding must learn
            // what the server accepts (gRPC compression spec), and it ends Trailers-Only.
            var headers = OutboundHeaders(prepared: Self.responseHeaders)
            Self.appendMetadata(initial, to: &headers.extra)
            headers.extra.append(contentsOf: trailers.fields)
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
    func respondHTTPError(_ stream: ServerStreamState, status: String, message: String) {
        stream.machine.refuse()
        let headers: OutboundHeaders = [
            HeaderField(":status", status), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-status", String(StatusCode.unknown.rawValue)),
            HeaderField("grpc-message", PercentEncoding.encode(message)),
        ]
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
        guard let stream = streams[streamID], stream.machine.unreadMessages > 0 else { return }
        let credit = stream.machine.handlerRead()
        if credit > 0 { session?.consume(streamID: stream.id, count: credit) }
        scheduleFlush()
    }

    /// Flow control for streaming requests (`ServerStreamStateMachine.creditIfCaughtUp`).
    func creditIfCaughtUp(_ stream: ServerStreamState) {
        let credit = stream.machine.creditIfCaughtUp()
        if credit > 0 { session?.consume(streamID: stream.id, count: credit) }
    }

    func streamHandle(_ id: Int32) -> StreamHandle {
        StreamHandle(owner: streamOwner!, streamID: id)
    }
}
