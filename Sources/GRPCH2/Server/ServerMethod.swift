import ProtobufCBridge

/// A method as the runtime sees it: serialized messages in, serialized messages out.
/// Typed handlers (`ServerMethod.unary(...)` and friends in `TypedHandlers.swift`) wrap this.
public struct ServerMethod: Sendable {
    public let path: String
    public let kind: CallKind
    let handler: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    /// Typed unary methods also keep their handler in direct form, request bytes in and
    /// response bytes out: the connection calls it when no interceptor is installed, which
    /// saves the request stream, the writer, the response buffer and their async hops (a
    /// third of a small call's cost). Same steps as `handler`: decode, handle, encode.
    let unary: (@Sendable ([UInt8], ServerContext) async throws -> [UInt8])?

    public init(
        path: String, kind: CallKind,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.path = path
        self.kind = kind
        self.handler = handler
        self.unary = nil
    }

    init(path: String, unary: @escaping @Sendable ([UInt8], ServerContext) async throws -> [UInt8]) {
        self.path = path
        self.kind = .unary
        self.unary = unary
        self.handler = { requests, writer, context in
            var iterator = requests.makeAsyncIterator()
            guard let bytes = try await iterator.next() else {
                throw RPCError(code: .internalError, message: "no request message")
            }
            try await writer.write(unary(bytes, context))
        }
    }
}

/// A set of methods served together (one protobuf service).
public protocol ServiceProvider: Sendable {
    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    var methods: [ServerMethod] { get }
}
