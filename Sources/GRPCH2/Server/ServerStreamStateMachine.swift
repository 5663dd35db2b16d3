import GRPCH2Core
import ProtobufCBridge

/// One server stream's life as a value: events in, actions out, no I/O (in the manner of
/// grpc-swift's `GRPCStreamStateMachine`). `ServerConnectionHandler` feeds it what nghttp2 and
/// the handler task report and carries out what it answers: credit bytes back to the peer,
/// hand a message to the handler, start the handler, end the call. Every rule about the order
/// of a call's events (what a unary call may receive, when credit is held and released, when
/// the status goes out as Trailers-Only) lives here, and `ServerStreamStateMachineTests`
/// drives every event in every state.
///
/// The stream's resources (handler task, deadline timer, request continuation, queued
/// response bytes) stay in `ServerStreamState`, which holds one of these.
struct ServerStreamStateMachine: Equatable {
    enum Phase: Equatable {
        /// Request headers are arriving.
        case headers
        /// Headers validated; request messages are arriving.
        case receiving
        /// The status is decided (trailers queued or sent); nothing more is accepted.
        case finished
    }

    private(set) var phase = Phase.headers
    private(set) var kind = CallKind.unary
    /// `grpc-encoding: gzip` on the request.
    private(set) var requestCompressed = false
    /// Responses are gzipped (the request was, and the client accepts it).
    private(set) var compressResponses = false
    /// Client- and bidi-streaming: messages go to the running handler as they arrive.
    private(set) var streamsRequests = false
    /// The client half-closed (END_STREAM).
    private(set) var remoteClosed = false
    /// Unary and server-streaming requests: messages collected until the client half-closes,
    /// the first one apart (a unary call then needs no array of messages).
    private(set) var firstRequest: [UInt8] = []
    private(set) var collected: [[UInt8]] = []
    private(set) var requestCount = 0
    /// Received bytes not yet credited back to the peer: held while a streaming handler has
    /// unread messages, so a slow reader stops the peer.
    private(set) var unconsumedBytes = 0
    /// Messages handed to the handler that it has not read yet.
    private(set) var unreadMessages = 0
    /// Response headers are submitted (or the Trailers-Only response that ends the stream).
    private(set) var responseHeadersSubmitted = false

    // MARK: request side

    /// The request headers are valid: the call starts receiving messages.
    mutating func callStarted(kind: CallKind, requestCompressed: Bool, compressResponses: Bool) {
        guard phase == .headers else { return }
        phase = .receiving
        self.kind = kind
        self.requestCompressed = requestCompressed
        self.compressResponses = compressResponses
        streamsRequests = kind.isClientStreaming
    }

    enum DataAction: Equatable {
        /// Credit the bytes back now and deframe them.
        case consumeAndDeframe(Int)
        /// Deframe them; their credit is held until the handler has caught up.
        case holdAndDeframe
        /// Nothing will read them (call not started or already over): credit them back, drop them.
        case discard(Int)
    }

    /// `count` bytes of DATA arrived.
    mutating func dataReceived(count: Int) -> DataAction {
        guard phase == .receiving else { return .discard(count) }
        guard streamsRequests else { return .consumeAndDeframe(count) }
        unconsumedBytes += count
        return .holdAndDeframe
    }

    enum MessageAction: Equatable {
        /// Hand the message to the running handler.
        case deliver([UInt8])
        /// Kept until the client half-closes.
        case collected
        /// The call is over: nothing reads it.
        case dropped
        /// End the call with this status.
        case fail(RPCError)
    }

    /// Whether a message with this compression flag may be read (a compressed message needs
    /// `grpc-encoding` on the request); the error ends the call otherwise.
    func checkCompression(_ compressed: Bool) -> RPCError? {
        guard compressed, !requestCompressed else { return nil }
        return RPCError(code: .internalError, message: "compressed message received without grpc-encoding")
    }

    /// One whole (decompressed) request message was deframed.
    mutating func messageReceived(_ bytes: [UInt8]) -> MessageAction {
        guard phase == .receiving else { return .dropped }
        if streamsRequests {
            unreadMessages += 1
            return .deliver(bytes)
        }
        if kind == .unary, requestCount > 0 {
            return .fail(RPCError(code: .unimplemented, message: "unary call received more than one request message"))
        }
        if requestCount == 0 {
            firstRequest = bytes
        } else {
            collected.append(bytes)
        }
        requestCount += 1
        return .collected
    }

    enum EndAction: Equatable {
        /// Nothing to do (the call is not receiving).
        case none
        /// Finish the request stream the handler reads.
        case finishRequestStream
        /// Start the handler with the request messages (`count` of them: `first`, then `rest`).
        case startHandler(count: Int, first: [UInt8], rest: [[UInt8]])
        /// End the call with this status.
        case fail(RPCError)
    }

    /// The client half-closed. `partialMessage`: the deframer holds bytes of an unfinished message.
    mutating func requestEnded(partialMessage: Bool) -> EndAction {
        remoteClosed = true
        guard phase == .receiving else { return .none }
        if partialMessage { return .fail(RPCError(code: .internalError, message: "request ended inside a message")) }
        if streamsRequests { return .finishRequestStream }
        if kind == .unary, requestCount != 1 {
            return .fail(RPCError(code: .unimplemented, message: "unary call received no request message"))
        }
        var first: [UInt8] = []
        swap(&first, &firstRequest)
        let rest = collected
        let count = requestCount
        collected = []
        requestCount = 0
        return .startHandler(count: count, first: first, rest: rest)
    }

    /// Bytes to credit back now: a streaming call whose handler has read every message it was
    /// given returns the credit it held (0: nothing to credit). Crediting per message read
    /// instead would deadlock on a message larger than the stream window: its bytes could
    /// never all arrive, since they would only be credited once it has been read.
    mutating func creditIfCaughtUp() -> Int {
        guard phase == .receiving, unreadMessages == 0, unconsumedBytes > 0 else { return 0 }
        defer { unconsumedBytes = 0 }
        return unconsumedBytes
    }

    /// The handler read one message; returns the bytes to credit back now.
    mutating func handlerRead() -> Int {
        guard unreadMessages > 0 else { return 0 }
        unreadMessages -= 1
        return creditIfCaughtUp()
    }

    // MARK: response side

    /// The response needs its headers: true the first time (submit them), false after.
    mutating func responseHeadersNeeded() -> Bool {
        if responseHeadersSubmitted { return false }
        responseHeadersSubmitted = true
        return true
    }

    enum FinishAction: Equatable {
        /// Queue the trailers after the response (headers submitted, or messages waiting to be).
        case trailers(releaseCredit: Int)
        /// Nothing was sent: one HEADERS frame carries the status and ends the stream.
        case trailersOnly(releaseCredit: Int)
    }

    /// The call's status is decided (handler done, error, deadline). Nil when it was already.
    /// `releaseCredit`: request bytes the handler never read still owe the peer their
    /// connection-level credit (automatic window updates are off), or each such call would
    /// shrink the connection window for good.
    mutating func finish(responsePending: Bool) -> FinishAction? {
        guard phase != .finished else { return nil }
        phase = .finished
        let release = releaseCredit()
        if responseHeadersSubmitted || responsePending { return .trailers(releaseCredit: release) }
        responseHeadersSubmitted = true
        return .trailersOnly(releaseCredit: release)
    }

    /// A non-gRPC answer (wrong method or content-type) ends the stream with its headers.
    mutating func refuse() {
        phase = .finished
        responseHeadersSubmitted = true
    }

    /// The client reset the stream or the connection went away: returns the credit to release.
    mutating func abandon() -> Int {
        phase = .finished
        return releaseCredit()
    }

    private mutating func releaseCredit() -> Int {
        defer {
            unconsumedBytes = 0
            unreadMessages = 0
        }
        return unconsumedBytes
    }

    /// Every field back to its initial value, for a closed stream's object serving a new one.
    mutating func reset() {
        self = ServerStreamStateMachine()
    }
}
