/// The messages a client streams to a handler, in order. Ends when the client half-closes.
///
/// Reading a message returns its flow-control credit to the peer, so a handler that reads
/// slowly makes the client wait instead of making the server buffer without bound.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message

    let base: AsyncThrowingStream<[UInt8], any Error>
    let decode: @Sendable ([UInt8]) throws -> Message
    let onConsumed: @Sendable (Int) -> Void

    init(base: AsyncThrowingStream<[UInt8], any Error>, decode: @escaping @Sendable ([UInt8]) throws -> Message,
         onConsumed: @escaping @Sendable (Int) -> Void) {
        self.base = base
        self.decode = decode
        self.onConsumed = onConsumed
    }

    /// A stream of already-received messages (unary and server-streaming requests).
    static func completed(_ messages: [[UInt8]]) -> RequestStream<[UInt8]> {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        for m in messages { continuation.yield(m) }
        continuation.finish()
        return RequestStream<[UInt8]>(base: stream, decode: { $0 }, onConsumed: { _ in })
    }

    /// The same stream, decoding each message with `transform`.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (Message) throws -> T) -> RequestStream<T> {
        let decode = self.decode
        return RequestStream<T>(base: base, decode: { try transform(decode($0)) }, onConsumed: onConsumed)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        let decode: @Sendable ([UInt8]) throws -> Message
        let onConsumed: @Sendable (Int) -> Void

        public mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else { return nil }
            onConsumed(bytes.count)
            return try decode(bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decode: decode, onConsumed: onConsumed)
    }
}

/// Where a handler's response messages go.
protocol ResponseSink: Sendable {
    /// Queues one serialized message; suspends while the peer is not reading (back-pressure).
    func write(_ message: [UInt8]) async throws
}

/// Sends response messages of a streaming call, in order.
public struct ResponseWriter<Message: Sendable>: Sendable {
    let sink: any ResponseSink
    let encode: @Sendable (Message) -> [UInt8]

    init(sink: any ResponseSink, encode: @escaping @Sendable (Message) -> [UInt8]) {
        self.sink = sink
        self.encode = encode
    }

    /// Sends one message. Throws when the call has ended (cancelled, deadline, reset).
    public func write(_ message: Message) async throws {
        try await sink.write(encode(message))
    }

    /// The same writer, encoding with `transform` first.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (T) -> Message) -> ResponseWriter<T> {
        let encode = self.encode
        return ResponseWriter<T>(sink: sink, encode: { encode(transform($0)) })
    }
}
