import GRPCH2Core
import NIOConcurrencyHelpers
import NIOCore

/// The connection as its handler tasks reach it (`ServerStreamOwner`): every call hops onto
/// the connection's loop, unless the task already runs there. One per connection.
final class ServerConnectionStreams: ServerStreamOwner {
    let connection: NIOLoopBound<ServerConnectionHandler>

    init(connection: NIOLoopBound<ServerConnectionHandler>) {
        self.connection = connection
    }

    /// A stream whose push source asked to be taken (`push`).
    typealias PushRequest = (streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?)

    /// Push sources scheduled since the connection last took them, and whether a job to take
    /// them is queued on the loop: one job per loop turn however many streams were scheduled.
    private struct Pushes {
        var ready: [PushRequest] = []
        var scheduled = false
    }
    private let pushes = NIOLockedValueBox(Pushes())

    var supportsPush: Bool { true }

    func push(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?) {
        // Always through a job, even from the loop itself: the caller may hold its own locks
        // (a session publishing to its subscribers) or run inside nghttp2's callbacks, and the
        // job takes every source scheduled during this turn at once.
        let first = pushes.withLockedValue { p in
            p.ready.append((streamID, source, sent))
            defer { p.scheduled = true }
            return !p.scheduled
        }
        guard first else { return }
        connection.eventLoop.execute {
            let handler = self.connection.value
            // The list is swapped with the handler's emptied one from the last job, so neither
            // side allocates per job (a fresh array grew 1, 2, 4, 8 … entries every turn).
            var ready = handler.pushRequestsSpare
            handler.pushRequestsSpare = []
            self.pushes.withLockedValue { p in
                p.scheduled = false
                swap(&ready, &p.ready)
            }
            // One write for all of it, now, rather than a second job for the flush: the
            // submissions below find a flush "scheduled" and leave it to this one.
            let flushPending = handler.flushScheduled
            handler.flushScheduled = true
            for r in ready { handler.takePushed(streamID: r.streamID, source: r.source, sent: r.sent) }
            ready.removeAll(keepingCapacity: true)
            handler.pushRequestsSpare = ready
            if !flushPending {
                handler.flushScheduled = false
                handler.flush()
            }
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
