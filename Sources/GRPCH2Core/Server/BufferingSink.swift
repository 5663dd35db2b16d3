import Synchronization

/// Collects the response of a single-response call in the handler's task, so the message
/// and the status reach the connection in one hop.
package final class BufferingSink: ResponseSink {
    package init() {}

    private let messages = Mutex<[[UInt8]]>([])

    package func write(_ message: [UInt8]) async throws {
        messages.withLock { $0.append(message) }
    }

    package func drain() -> [[UInt8]] {
        messages.withLock { m in
            defer { m = [] }
            return m
        }
    }
}
