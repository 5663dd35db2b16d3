import GRPCH2Core
import NIOConcurrencyHelpers
import NIOCore

/// The connection as its handler tasks reach it (`ServerStreamOwner`): every call hops onto
/// the connection's loop, unless the task already runs there. One per connection.
final class ServerConnectionStreams: ServerStreamOwner {
    let connection: NIOLoopBound<ServerConnectionHandler>

    /// A stream whose push source asked to be taken (`push`).
    typealias PushRequest = (streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?)

    /// Push sources scheduled since the connection last took them, whether a job to take them
    /// is queued on the loop (one job however many streams were scheduled), and when the last
    /// job took some (`pushCoalescingDelay`).
    private struct Pushes {
        var ready: [PushRequest] = []
        var scheduled = false
        var lastTake = NIODeadline.uptimeNanoseconds(0)
    }
    private let pushes = NIOLockedValueBox(Pushes())

    /// `ServerConfiguration.pushCoalescingDelay` in NIO's unit; nil: no delay.
    private let coalescingDelay: TimeAmount?
    /// `ServerConfiguration.pushCoalescingStreams`: this many streams waiting are taken at once.
    private let coalescingStreams: Int

    init(connection: NIOLoopBound<ServerConnectionHandler>, configuration: ServerConfiguration) {
        self.connection = connection
        let parts = configuration.pushCoalescingDelay.components
        let nanos = parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
        coalescingDelay = nanos > 0 ? .nanoseconds(nanos) : nil
        coalescingStreams = max(1, configuration.pushCoalescingStreams)
    }

    var supportsPush: Bool { true }

    private enum PushJob { case none, now, at(NIODeadline) }

    func push(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?) {
        // Always through a job, even from the loop itself: the caller may hold its own locks
        // (a session publishing to its subscribers) or run inside nghttp2's callbacks, and the
        // job takes every source scheduled until it runs at once.
        //
        // With a coalescing delay a connection takes (and writes) pushed messages at most once
        // per delay: the first push after a quiet spell is taken at once, later ones wait for
        // the delay since the last take to end (or for `coalescingStreams` streams). A busy
        // connection so writes fewer, larger batches — a socket write's fixed cost (syscall,
        // loopback delivery, waking the reader) is paid once per batch (docs/BENCHMARKS.md
        // "Subscriptions, sixth pass") — and no message waits longer than the delay.
        let job = pushes.withLockedValue { p -> PushJob in
            p.ready.append((streamID, source, sent))
            if !p.scheduled {
                p.scheduled = true
                guard let delay = coalescingDelay else { return .now }
                let due = p.lastTake + delay
                return due <= .now() ? .now : .at(due)
            }
            // Exactly at the threshold: one early job; a timer's job then takes what came after.
            return coalescingDelay != nil && p.ready.count == coalescingStreams ? .now : .none
        }
        switch job {
        case .none: return
        case .now: connection.eventLoop.execute { self.takeScheduled() }
        case .at(let due):
            do {
                try connection.eventLoop.scheduleCallback(at: due, handler: self)
            } catch {
                connection.eventLoop.execute { self.takeScheduled() }  // the loop is shutting down
            }
        }
    }

    /// The push job: takes every scheduled source's messages into its stream, then one write.
    private func takeScheduled() {
        let handler = connection.value
        // The list is swapped with the handler's emptied one from the last job, so neither
        // side allocates per job (a fresh array grew 1, 2, 4, 8 … entries every turn).
        var ready = handler.pushRequestsSpare
        handler.pushRequestsSpare = []
        pushes.withLockedValue { p in
            p.scheduled = false
            swap(&ready, &p.ready)
            if coalescingDelay != nil, !ready.isEmpty { p.lastTake = .now() }
        }
        guard !ready.isEmpty else {  // an early job (`coalescingStreams`) took them
            handler.pushRequestsSpare = ready
            return
        }
        // One write for all of it, now, rather than a second job for the flush: the
        // submissions below find a flush "scheduled" and leave it to this one.
        let flushPending = handler.flushScheduled
        handler.flushScheduled = true
        handler.touchStreams(ready)  // their states' misses overlap before the takes lock
        // Moved out one by one (popped: the streams' order within one write does not matter)
        // rather than iterated: a copy would retain each source, whose object the publishing
        // thread wrote last — a cache miss per stream.
        while let r = ready.popLast() { handler.takePushed(streamID: r.streamID, source: r.source, sent: r.sent) }
        handler.pushRequestsSpare = ready
        if !flushPending {
            handler.flushScheduled = false
            handler.flush()
        }
    }

    func write(streamID: Int32, message: [UInt8]) async throws {
        // Handlers run on the connection's loop by default: queue the message at once and
        // suspend only for back-pressure. (The hop below cost a job on the loop and a task
        // switch per message: half of a subscription's per-update cost, docs/BENCHMARKS.md "Serving".)
        if connection.eventLoop.inEventLoop {
            guard try connection.value.enqueueNow(streamID: streamID, message: message) else {
                return try await withCheckedThrowingContinuation { continuation in
                    connection.value.awaitDrain(streamID: streamID, continuation: continuation)
                }
            }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.eventLoop.execute {
                self.connection.value.enqueue(streamID: streamID, message: message, continuation: continuation)
            }
        }
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context: ServerContext) {
        // Handlers run on the connection's loop by default: no hop needed then. `complete`
        // only queues frames (nghttp2 allows submitting from inside its callbacks, where a
        // handler started by `Task.immediate` may finish); the write happens at the flush.
        if connection.eventLoop.inEventLoop {
            connection.value.complete(streamID: streamID, messages: messages, error: error, context: context)
            return
        }
        connection.eventLoop.execute {
            self.connection.value.complete(streamID: streamID, messages: messages, error: error, context: context)
        }
    }

    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        if connection.eventLoop.inEventLoop {
            connection.value.complete(streamID: streamID, framedMessage: framedMessage)
            return
        }
        let message = framedMessage
        connection.eventLoop.execute {
            self.connection.value.complete(streamID: streamID, framedMessage: message)
        }
    }

    func consumed(streamID: Int32) {
        connection.eventLoop.execute { self.connection.value.consumed(streamID: streamID) }
    }
}

extension ServerConnectionStreams: NIOScheduledCallbackHandler {
    /// The coalescing delay's end (`push`): no promise or task object per job.
    func handleScheduledCallback(eventLoop: some EventLoop) { takeScheduled() }
}
