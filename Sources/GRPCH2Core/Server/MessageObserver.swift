/// Sees every message of one call as it passes between the connection and the handler:
/// `received` runs when the handler reads a request message (throwing ends the call with that
/// error, e.g. a rate limit), `sent` after a response message was queued.
///
/// Interceptors install one with `ServerContext.observeMessages(_:)`; calls without one pay
/// nothing. Both closures run on the handler's task, one message at a time.
///
/// ```swift
/// var context = context
/// context.observeMessages(MessageObserver(received: { counter.increment() }, sent: {}))
/// try await next(context)
/// ```
public struct MessageObserver: Sendable {
    public var received: @Sendable () throws -> Void
    public var sent: @Sendable () -> Void

    public init(received: @escaping @Sendable () throws -> Void = {}, sent: @escaping @Sendable () -> Void = {}) {
        self.received = received
        self.sent = sent
    }

    /// Runs `self` first, then `other`.
    public func followed(by other: MessageObserver) -> MessageObserver {
        let (r1, s1, r2, s2) = (received, sent, other.received, other.sent)
        return MessageObserver(received: { try r1(); try r2() }, sent: { s1(); s2() })
    }
}

extension RequestStream {
    /// The same stream, reporting each message to `observer` as the handler reads it.
    package func observed(by observer: MessageObserver) -> RequestStream<Message> {
        let received = observer.received
        return map { message in
            try received()
            return message
        }
    }
}

extension ResponseWriter {
    /// The same writer, reporting each message to `observer` once it is queued.
    package func observed(by observer: MessageObserver) -> ResponseWriter<Message> {
        ResponseWriter(sink: ObservingSink(base: sink, sent: observer.sent), encode: encode, passesThrough: passesThrough)
    }
}

/// A sink that counts what reaches its base sink.
struct ObservingSink: ResponseSink {
    let base: any ResponseSink
    let sent: @Sendable () -> Void

    func write(_ message: [UInt8]) async throws {
        try await base.write(message)
        sent()
    }
}
