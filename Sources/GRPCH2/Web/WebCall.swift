import GRPCH2Core
import NIOCore
import NIOHTTP1

/// One gRPC-Web or Connect call on an HTTP/1.1 connection, on the connection's loop.
final class WebCall {
    let id: Int32
    let encoder: WebResponseEncoder
    var kind: WebRequestKind { encoder.kind }
    var path: String { encoder.path }
    let version: HTTPVersion
    /// Whether the connection stays open after this response.
    var keepAlive: Bool
    /// `Access-Control-Allow-Origin` for this request's origin, when it may call.
    let allowedOrigin: String?
    var method: MethodEntry?
    var serverContext: ServerContext?
    var task: Task<Void, Never>?
    var deadlineTimer: Scheduled<Void>?
    var deadline: ContinuousClock.Instant?
    var headSent = false
    var finished = false

    init(id: Int32, encoder: WebResponseEncoder, head: HTTPRequestHead, allowedOrigin: String?) {
        self.id = id
        self.encoder = encoder
        self.version = head.version
        // HTTP/1.0 has no chunked bodies: a streamed response ends when the connection does.
        self.keepAlive = head.isKeepAlive && head.version.minor >= 1
        self.allowedOrigin = allowedOrigin
    }
}

/// The HTTP/1.1 connection as its handler tasks reach it (`ServerStreamOwner`): each call
/// hops onto the connection's loop. A call that has ended finds no call with its id there.
final class HTTP1CallOwner: ServerStreamOwner {
    let connection: NIOLoopBound<HTTP1WebHandler>

    init(connection: NIOLoopBound<HTTP1WebHandler>) {
        self.connection = connection
    }

    func write(streamID: Int32, message: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.eventLoop.execute {
                self.connection.value.write(callID: streamID, message: message, continuation: continuation)
            }
        }
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context: ServerContext) {
        connection.eventLoop.execute {
            self.connection.value.complete(callID: streamID, messages: messages, error: error)
        }
    }

    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        let message = Array(framedMessage.dropFirst(MessageFramer.prefixLength))
        connection.eventLoop.execute {
            self.connection.value.complete(callID: streamID, messages: [message], error: nil)
        }
    }

    func consumed(streamID: Int32) {}  // the request was read whole: no flow control to give back
}
