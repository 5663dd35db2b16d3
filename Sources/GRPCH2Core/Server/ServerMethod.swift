import ProtobufCBridge

/// A method as the runtime sees it: serialized messages in, serialized messages out.
/// Typed handlers (`ServerMethod.unary(...)` and friends in `TypedHandlers.swift`) wrap this.
public struct ServerMethod: Sendable {
    public let path: String
    public let kind: CallKind
    /// The method's general form (public so that a server can wrap a method, e.g. to run its
    /// own interceptor inside a typed unary method and keep `startUnary`'s direct path).
    public let handler: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    /// Typed unary methods also keep their handler in direct form: it starts the call's task
    /// (on `executor` when given) with request bytes in, and hands the stream the response
    /// serialized after `MessageFramer.prefixLength` spare bytes, where the connection writes
    /// the gRPC prefix in place. Used when no interceptor is installed, it saves the request
    /// stream, the writer, the response buffer, their async hops and a copy of the message;
    /// decode, handler and encode run in the task's own closure, with no async layer between.
    /// Same steps as `handler`: decode, handle, encode.
    package let startUnary: (@Sendable ([UInt8], ServerContext, StreamHandle, (any TaskExecutor)?) -> Task<Void, Never>)?

    public init(
        path: String, kind: CallKind,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.path = path
        self.kind = kind
        self.handler = handler
        self.startUnary = nil
    }

    @usableFromInline
    init(
        path: String, startUnary: @escaping @Sendable ([UInt8], ServerContext, StreamHandle, (any TaskExecutor)?) -> Task<Void, Never>,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.path = path
        self.kind = .unary
        self.startUnary = startUnary
        self.handler = handler
    }
}

/// A set of methods served together (one protobuf service).
public protocol ServiceProvider: Sendable {
    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    var methods: [ServerMethod] { get }
}
