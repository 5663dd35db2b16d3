/// The messages a client streams to a handler, in order. Ends when the client half-closes.
///
/// Reading a message returns its flow-control credit to the peer, so a handler that reads
/// slowly makes the client wait instead of making the server buffer without bound.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message

    typealias Source = RequestSource
    let source: Source
    let decode: @Sendable ([UInt8]) throws -> Message
    let onConsumed: @Sendable (Int) -> Void

    package init(base: AsyncThrowingStream<[UInt8], any Error>, decode: @escaping @Sendable ([UInt8]) throws -> Message,
         onConsumed: @escaping @Sendable (Int) -> Void) {
        self.init(source: .live(base), decode: decode, onConsumed: onConsumed)
    }

    init(source: Source, decode: @escaping @Sendable ([UInt8]) throws -> Message,
         onConsumed: @escaping @Sendable (Int) -> Void) {
        self.source = source
        self.decode = decode
        self.onConsumed = onConsumed
    }

    /// A stream of already-received messages (unary and server-streaming requests).
    package static func completed(_ messages: [[UInt8]]) -> RequestStream<[UInt8]> {
        RequestStream<[UInt8]>(source: .completed(messages), decode: { $0 }, onConsumed: { _ in })
    }

    /// The same stream, decoding each message with `transform`.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (Message) throws -> T) -> RequestStream<T> {
        let decode = self.decode
        return RequestStream<T>(source: source, decode: { try transform(decode($0)) }, onConsumed: onConsumed)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum Base {
            case completed([[UInt8]], next: Int)
            case live(AsyncThrowingStream<[UInt8], any Error>.AsyncIterator)
        }

        var base: Base
        let decode: @Sendable ([UInt8]) throws -> Message
        let onConsumed: @Sendable (Int) -> Void

        public mutating func next() async throws -> Message? {
            let bytes: [UInt8]
            switch base {
            case .completed(let messages, let index):
                guard index < messages.count else { return nil }
                base = .completed(messages, next: index + 1)
                bytes = messages[index]
            case .live(var iterator):
                guard let next = try await iterator.next() else {
                    // An AsyncThrowingStream ends with nil when the reading task is cancelled: a
                    // call cancelled by RST_STREAM, its deadline or the connection closing must
                    // not look like the client's half-close to the handler.
                    try Task.checkCancellation()
                    return nil
                }
                base = .live(iterator)
                bytes = next
            }
            onConsumed(bytes.count)
            return try decode(bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .completed(let messages):
            AsyncIterator(base: .completed(messages, next: 0), decode: decode, onConsumed: onConsumed)
        case .live(let stream):
            AsyncIterator(base: .live(stream.makeAsyncIterator()), decode: decode, onConsumed: onConsumed)
        }
    }
}

/// Where a `RequestStream`'s serialized messages come from (outside the generic type, so
/// `map` can hand it on to a stream of another element type).
enum RequestSource: Sendable {
    /// Every message arrived before the handler started (unary and server-streaming
    /// requests): a plain array, because an `AsyncThrowingStream` per call (its storage,
    /// lock, continuation and generic metadata) cost more than the rest of a small call.
    case completed([[UInt8]])
    /// Client- and bidi-streaming requests: fed by the connection while the handler runs.
    case live(AsyncThrowingStream<[UInt8], any Error>)
}

/// Where a handler's response messages go.
package protocol ResponseSink: Sendable {
    /// Queues one serialized message; suspends while the peer is not reading (back-pressure).
    func write(_ message: [UInt8]) async throws
    /// The transport's `ResponsePusher` for this call, if it has one (default: none).
    var pusher: ResponsePusher? { get }
}

/// Sends response messages of a streaming call, in order.
public struct ResponseWriter<Message: Sendable>: Sendable {
    let sink: any ResponseSink
    let encode: @Sendable (Message) -> [UInt8]
    /// `encode` hands bytes on unchanged (the untyped writer a call starts with): only then
    /// may a `ResponsePusher` bypass it.
    let passesThrough: Bool

    package init(sink: any ResponseSink, encode: @escaping @Sendable (Message) -> [UInt8], passesThrough: Bool = false) {
        self.sink = sink
        self.encode = encode
        self.passesThrough = passesThrough
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
