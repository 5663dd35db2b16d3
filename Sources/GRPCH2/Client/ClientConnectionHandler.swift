import GRPCH2Core
import Logging
import NIOCore

/// The client side of one HTTP/2 connection: calls open streams through nghttp2, request
/// messages leave through the stream's body source, responses come back as messages and a
/// status. Everything here runs on the channel's event loop; `GRPCClient` hops onto it.
final class ClientConnectionHandler: ChannelInboundHandler, NGHTTP2SessionDelegate, HTTP2ConnectionDriver {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One call's state on the loop.
    final class Stream {
        var pending: [UInt8] = []
        var pendingOffset = 0
        var requestEnded = false
        var responseHeaders: [HeaderField] = []
        var trailers: [HeaderField] = []
        var headersDone = false
        var deframer: MessageDeframer
        var compressed = false
        let messages: AsyncThrowingStream<[UInt8], any Error>.Continuation
        let finished: @Sendable (Result<Metadata, RPCError>) -> Void
        var deadlineTimer: Scheduled<Void>?
        var done = false

        init(maxMessageSize: Int, messages: AsyncThrowingStream<[UInt8], any Error>.Continuation,
             finished: @escaping @Sendable (Result<Metadata, RPCError>) -> Void) {
            self.deframer = MessageDeframer(maxMessageSize: maxMessageSize)
            self.messages = messages
            self.finished = finished
        }
    }

    var session: NGHTTP2Session?
    var context: ChannelHandlerContext?
    private var streams: [Int32: Stream] = [:]
    // The connection driver's state (`HTTP2ConnectionDriver`).
    var flushScheduled = false
    var flushing = false
    var inRead = false
    var outBuffer: ByteBuffer?
    let maxReceiveMessageSize: Int
    let logger: Logger

    init(maxReceiveMessageSize: Int, logger: Logger) {
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        start()
        context.fireChannelActive()
    }

    private func start() {
        guard session == nil else { return }
        let settings = HTTP2SessionSettings(
            maxConcurrentStreams: 1000, initialStreamWindow: 1 << 20, connectionWindow: 16 << 20,
            maxFrameSize: 16384, maxHeaderListSize: 64 * 1024)
        session = try? NGHTTP2Session(role: .client, delegate: self, settings: settings)
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data), context: context)
    }

    /// The GOAWAY nghttp2 queued goes out; the close fails every call (`channelInactive`).
    func connectionFailed(_ error: NGHTTP2Error, context: ChannelHandlerContext) {
        flush()
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "connection closed"))
        session?.close()
        session = nil
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "connection closed"))
        session?.close()
        session = nil
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        let all = streams
        streams = [:]
        for (_, s) in all { end(s, .failure(error)) }
    }

    // MARK: calls (from GRPCClient, on the loop)

    /// Opens a stream; returns its id, or fails `stream` when the connection cannot.
    func open(headers: [HeaderField], stream: Stream, deadline: ContinuousClock.Instant?) -> Int32? {
        guard let session else {
            end(stream, .failure(RPCError(code: .unavailable, message: "not connected")))
            return nil
        }
        do {
            let id = try session.submitRequest(headers: headers)
            streams[id] = stream
            if let deadline, let context {
                let remaining = deadline - .now
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                stream.deadlineTimer = context.eventLoop.scheduleTask(in: .nanoseconds(max(0, ServerConnectionHandler.nanos(remaining)))) {
                    loopBound.value.cancel(streamID: id, error: DeadlineStatus.exceeded)
                }
            }
            scheduleFlush()
            return id
        } catch {
            end(stream, .failure(RPCError(code: .unavailable, message: "cannot open stream: \(error)")))
            return nil
        }
    }

    func send(streamID: Int32, message: [UInt8], end: Bool) {
        guard let stream = streams[streamID], !stream.requestEnded else { return }
        MessageFramer.frame(message, compressed: false, into: &stream.pending)
        stream.requestEnded = end
        session?.resumeData(streamID: streamID)
        scheduleFlush()
    }

    func finishRequest(streamID: Int32) {
        guard let stream = streams[streamID], !stream.requestEnded else { return }
        stream.requestEnded = true
        session?.resumeData(streamID: streamID)
        scheduleFlush()
    }

    func cancel(streamID: Int32, error: RPCError) {
        guard let stream = streams[streamID] else { return }
        session?.resetStream(streamID: streamID, errorCode: 8)  // CANCEL
        streams[streamID] = nil
        end(stream, .failure(error))
        scheduleFlush()
    }

    private func end(_ stream: Stream, _ result: Result<Metadata, RPCError>) {
        guard !stream.done else { return }
        stream.done = true
        stream.deadlineTimer?.cancel()
        // Record the status before ending the message stream: a reader that sees the end
        // may read the trailing metadata at once.
        stream.finished(result)
        switch result {
        case .success: stream.messages.finish()
        case .failure(let e): stream.messages.finish(throwing: e)
        }
    }

    // MARK: NGHTTP2SessionDelegate

    func http2BeginHeaders(streamID: Int32, isRequest: Bool) {}

    func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String,
                     value: @autoclosure () -> String) {
        guard let stream = streams[streamID] else { return }
        if stream.headersDone {
            stream.trailers.append(HeaderField(name(), value()))
        } else {
            stream.responseHeaders.append(HeaderField(name(), value()))
        }
    }

    func http2HeadersComplete(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        if !stream.headersDone {
            stream.headersDone = true
            stream.compressed = stream.responseHeaders.contains { $0.name == "grpc-encoding" && $0.value == "gzip" }
            if endStream {
                // Trailers-Only: the status is in the headers.
                stream.trailers = stream.responseHeaders
            }
        }
        if endStream { complete(streamID: streamID) }
    }

    func http2Data(streamID: Int32, bytes: consuming [UInt8]) {
        session?.consume(streamID: streamID, count: bytes.count)
        guard let stream = streams[streamID] else { return }
        stream.deframer.append(consume bytes)
        do {
            while let message = try stream.deframer.next() {
                var payload = message.bytes
                if message.compressed {
                    payload = try Gzip.decompress(payload, limit: maxReceiveMessageSize)
                }
                stream.messages.yield(payload)
            }
        } catch {
            cancel(streamID: streamID, error: RPCError(code: .resourceExhausted, message: "bad response message: \(error)"))
        }
    }

    func http2EndOfData(streamID: Int32) {
        complete(streamID: streamID)
    }

    private func complete(streamID: Int32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        end(stream, Self.status(stream))
    }

    func http2StreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        // REFUSED_STREAM (7): the server never processed it (GRPCClient sends it again).
        end(stream, .failure(RPCError(code: errorCode == 8 ? .cancelled : .unavailable, message: "stream closed (HTTP/2 error \(errorCode))",
                                      cause: errorCode == 7 ? StreamRefused() : nil)))
    }

    func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk {
        guard let stream = streams[streamID] else { return .end([], trailers: []) }
        let n = min(maxLength, stream.pending.count - stream.pendingOffset)
        let chunk = stream.pending[stream.pendingOffset..<stream.pendingOffset + n]
        stream.pendingOffset += n
        if stream.pendingOffset == stream.pending.count {
            stream.pending = []
            stream.pendingOffset = 0
            if stream.requestEnded { return .end(chunk, trailers: []) }
        }
        return chunk.isEmpty ? .deferred : .bytes(chunk)
    }

    func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32) {
        // For the layer that picks connections (GRPCClient+Connections.swift): new calls go elsewhere.
        context?.fireUserInboundEventTriggered(HTTP2GoAwayReceived(lastStreamID: lastStreamID, errorCode: errorCode))
    }
    func http2PingAckReceived() {}

    /// The call's status from its trailers (or Trailers-Only headers).
    static func status(_ stream: Stream) -> Result<Metadata, RPCError> {
        var code: StatusCode?
        var message = ""
        var details: [UInt8]?
        var metadata = Metadata()
        for h in stream.trailers {
            switch h.name {
            case "grpc-status": code = Int(h.value).map(StatusCode.init(rawValue:))
            case "grpc-message": message = PercentEncoding.decode(h.value)
            case "grpc-status-details-bin": details = Base64.decode(h.value)
            default:
                if Metadata.isReserved(h.name) { continue }
                if h.name.hasSuffix("-bin") {
                    if let b = Base64.decode(h.value) { metadata.addBinary(b, forKey: h.name) }
                } else {
                    metadata.addString(h.value, forKey: h.name)
                }
            }
        }
        guard let code else {
            let http = stream.responseHeaders.first { $0.name == ":status" }?.value ?? "?"
            return .failure(RPCError(code: .unknown, message: "response without grpc-status (HTTP \(http))"))
        }
        if code == .ok { return .success(metadata) }
        return .failure(RPCError(code: code, message: message, statusDetails: details, trailingMetadata: metadata))
    }
}
