/// Messages a server-streaming handler has ready, which the connection takes on its own event
/// loop when `ResponsePusher.schedule` asked it to: a fan-out (one event, many streams) then
/// costs no task wake-up, no async write and no continuation per message, and every message a
/// stream gathered during one loop turn leaves in the same write. The source holds what the
/// connection has not taken yet (and decides what to drop when it holds too much).
public protocol ResponsePushSource: AnyObject, Sendable {
    /// Appends everything ready now to `responses`, oldest first (nothing: nothing ready).
    /// Called on the connection's loop, once per `schedule` the source made — and only while
    /// the stream can take more: a stream whose buffer is over its limit (the peer is not
    /// reading) keeps the source parked and calls again once the buffer has half drained,
    /// without a new `schedule`. Framed once by the source (`FramedMessage`): a message handed
    /// to many streams is not copied per stream. `responses` is the connection's, reused from
    /// take to take (a source that keeps its own buffer's capacity allocates nothing per take).
    func takeResponses(into responses: inout [FramedMessage])
}

/// A streaming call's way to hand messages to its connection without awaiting each one
/// (`ResponseWriter.pusher`). Only transports that support it offer one (the HTTP/2 server's
/// connections); elsewhere, and for writers that transform messages, there is none and the
/// handler writes as usual.
public struct ResponsePusher: Sendable {
    let handle: StreamHandle
    /// The interceptors' `MessageObserver.sent` for each message taken (nil: none installed).
    let sent: (@Sendable () -> Void)?

    /// Asks the connection to take `source`'s messages on its loop, soon: calls made before it
    /// does are served by one `takeResponses` (the caller schedules once per batch, not per
    /// message). Any thread. Nothing happens when the call has ended.
    public func schedule(_ source: any ResponsePushSource) {
        handle.owner.push(streamID: handle.streamID, source: source, sent: sent)
    }
}

extension ServerStreamOwner {
    /// Transports without push support never get a `ResponsePusher` (`supportsPush` false).
    package var supportsPush: Bool { false }
    package func push(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?) {}
}

extension ResponseSink {
    package var pusher: ResponsePusher? { nil }
}

extension LiveSink {
    package var pusher: ResponsePusher? {
        handle.owner.supportsPush ? ResponsePusher(handle: handle, sent: nil) : nil
    }
}

extension ObservingSink {
    var pusher: ResponsePusher? {
        guard let base = base.pusher else { return nil }
        let sent = self.sent
        guard let inner = base.sent else { return ResponsePusher(handle: base.handle, sent: sent) }
        return ResponsePusher(handle: base.handle, sent: { inner(); sent() })
    }
}

extension ResponseWriter where Message == [UInt8] {
    /// The call's pusher, when its transport has one and this writer sends bytes as they are
    /// (not a `map`ped writer): see `ResponsePusher`.
    public var pusher: ResponsePusher? { passesThrough ? sink.pusher : nil }
}
