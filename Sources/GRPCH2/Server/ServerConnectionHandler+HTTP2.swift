import GRPCH2Core
import NIOCore

/// What nghttp2 reports about request streams (`NGHTTP2SessionDelegate`), turned into
/// events of each stream's `ServerStreamStateMachine`.
extension ServerConnectionHandler {
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
        if let web = stream.web { return receiveWebData(bytes, on: stream, web: web) }
        // Streaming requests hold their credit while the handler has unread messages (see
        // `ServerStreamStateMachine.creditIfCaughtUp`); the others are buffered whole and
        // limited by the message size.
        switch stream.machine.dataReceived(count: count) {
        case .discard(let n):
            session?.consume(streamID: streamID, count: n)
            return
        case .consumeAndDeframe(let n):
            session?.consume(streamID: streamID, count: n)
        case .holdAndDeframe:
            break
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
        // Half drained, `<=` and never below 0: with a limit of 0 or 1 "under half" never held,
        // and a drained stream left its writers and its parked source waiting for good.
        if !stream.waitingWriters.isEmpty, stream.pendingCount <= max(0, configuration.maxBufferedResponseBytes) / 2 {
            let writers = stream.waitingWriters
            stream.waitingWriters = []
            for w in writers { w.resume() }
        }
        if stream.parkedPush != nil, stream.pendingCount <= max(0, configuration.pushBufferLimit) / 2 { unparkPush(stream) }
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
}
