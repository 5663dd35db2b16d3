/// The transport's side of its calls, as a handler task reaches it: one object per
/// connection, which hops onto the connection's own thread (event loop) where needed.
/// `GRPCH2`'s HTTP/2 connection implements it; an in-process transport can too.
///
/// Every method names the call by its stream id: a call that has already ended (reset,
/// deadline) finds no stream and its late results are dropped.
@usableFromInline
package protocol ServerStreamOwner: AnyObject, Sendable {
    /// Queues one serialized response message of a streaming call; suspends while the peer
    /// is not reading (back-pressure) and throws once the call has ended.
    func write(streamID: Int32, message: [UInt8]) async throws
    /// Ends a call with its buffered response messages (single-response calls) and outcome.
    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context: ServerContext)
    /// Ends a direct unary call (`ServerMethod.startUnary`) with its response, serialized
    /// after `MessageFramer.prefixLength` spare bytes for the gRPC prefix.
    func complete(streamID: Int32, framedMessage: consuming [UInt8])
    /// The handler read one request message (flow control of streaming requests).
    func consumed(streamID: Int32)
    /// Whether `push` works here (ResponsePush.swift; default: no).
    var supportsPush: Bool { get }
    /// Takes `source`'s messages on the connection's loop soon (`ResponsePusher.schedule`).
    func push(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?)
}

/// A handler task's way back to its stream. Two words and an id: fits an existential's
/// inline buffer and costs no allocation per call.
@usableFromInline
package struct StreamHandle: Sendable {
    @usableFromInline let owner: any ServerStreamOwner
    @usableFromInline let streamID: Int32

    package init(owner: any ServerStreamOwner, streamID: Int32) {
        self.owner = owner
        self.streamID = streamID
    }

    func write(_ message: [UInt8]) async throws {
        try await owner.write(streamID: streamID, message: message)
    }

    @usableFromInline
    package func complete(messages: [[UInt8]], error: RPCError?, context: ServerContext) {
        owner.complete(streamID: streamID, messages: messages, error: error, context: context)
    }

    @usableFromInline
    package func complete(framedMessage: consuming [UInt8]) {
        owner.complete(streamID: streamID, framedMessage: framedMessage)
    }

    package func consumed() {
        owner.consumed(streamID: streamID)
    }
}

/// Streams each response message to the transport as it is written.
package struct LiveSink: ResponseSink {
    let handle: StreamHandle

    package init(handle: StreamHandle) {
        self.handle = handle
    }

    package func write(_ message: [UInt8]) async throws { try await handle.write(message) }
}
