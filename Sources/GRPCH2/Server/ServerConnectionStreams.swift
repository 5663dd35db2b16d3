import GRPCH2Core
import NIOCore

/// The connection as its handler tasks reach it (`ServerStreamOwner`): every call hops onto
/// the connection's loop, unless the task already runs there. One per connection.
final class ServerConnectionStreams: ServerStreamOwner {
    let connection: NIOLoopBound<ServerConnectionHandler>

    init(connection: NIOLoopBound<ServerConnectionHandler>) {
        self.connection = connection
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
