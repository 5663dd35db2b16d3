import Logging
import NIOCore

/// The connection driver the server's and the client's handlers share: one `NGHTTP2Session`
/// driven from the channel's event loop. Bytes read go into nghttp2 (`receive`, whose callbacks
/// reach the handler as `NGHTTP2SessionDelegate` events); the frames nghttp2 queues leave in
/// one socket write per loop turn (`flush`, coalesced by `scheduleFlush`); when nghttp2 wants
/// neither to read nor to write (GOAWAY both ways, or a connection error), the channel closes.
///
/// A protocol with its implementation in an extension: each handler keeps the state as its own
/// stored properties and calls the driver statically (no object or indirection between the
/// socket and the per-call path). What differs stays in the handler: what a connection error
/// does (`connectionFailed`), streams, calls, timers.
protocol HTTP2ConnectionDriver: AnyObject, SendableMetatype {
    var session: NGHTTP2Session? { get set }
    var context: ChannelHandlerContext? { get }
    var logger: Logger { get }
    /// A flush is queued on the loop (`scheduleFlush`).
    var flushScheduled: Bool { get set }
    /// `flush` runs: nghttp2 callbacks fired from `mem_send` must not flush again.
    var flushing: Bool { get set }
    /// `receive` runs: flushes wait for `channelReadComplete` (one write per read batch).
    var inRead: Bool { get set }
    /// Reused for every write: once the channel has written it (usually within `flush`) the
    /// storage is ours alone again, so `clear()` keeps it instead of allocating per flush.
    var outBuffer: ByteBuffer? { get set }

    /// nghttp2 refused the bytes read: a connection error (nghttp2 has queued a GOAWAY where
    /// HTTP/2 asks for one).
    func connectionFailed(_ error: NGHTTP2Error, context: ChannelHandlerContext)
}

extension HTTP2ConnectionDriver {
    /// Feeds bytes read from the socket to nghttp2.
    func receive(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard let session else { return }
        inRead = true
        defer { inRead = false }
        do {
            try buffer.withUnsafeReadableBytes { bytes throws(NGHTTP2Error) in try session.receive(bytes) }
        } catch {
            connectionFailed(error, context: context)
        }
    }

    /// Drains nghttp2's pending frames into one socket write.
    func flush() {
        guard let session, let context, !flushing else { return }
        guard context.channel.isWritable else { return }
        flushing = true
        defer { flushing = false }
        var out = outBuffer.take() ?? context.channel.allocator.buffer(capacity: 4096)
        out.clear()
        defer { if out.capacity <= 64 * 1024 { outBuffer = out } }  // a burst's big buffer is let go
        do {
            try session.send(into: &out)
        } catch {
            logger.debug("HTTP/2 send failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        if out.readableBytes > 0 {
            context.writeAndFlush(NIOAny(out), promise: nil)
        }
        if !session.isActive {
            context.close(promise: nil)
        } else if session.wantsWrite && context.channel.isWritable {
            scheduleFlush()  // more than one batch was pending
        }
    }

    /// Coalesces the flushes of many completions into one write per loop turn.
    func scheduleFlush() {
        guard !flushScheduled, !inRead, let context else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flush()
        }
    }
}
