import ProtobufCBridge

/// A method as the runtime sees it: serialized messages in, serialized messages out.
/// Typed handlers (`ServerMethod.unary(...)` and friends in `TypedHandlers.swift`) wrap this.
public struct ServerMethod: Sendable {
    public let path: String
    public let kind: CallKind
    /// The method's general form: serialized messages in and out.
    public let handler: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    /// Typed unary methods also keep their handler in direct form: it starts the call's task
    /// (on `executor` when given) with request bytes in, and hands the stream the response
    /// serialized after `MessageFramer.prefixLength` spare bytes, where the connection writes
    /// the gRPC prefix in place. Used when no interceptor is installed, it saves the request
    /// stream, the writer, the response buffer, their async hops and a copy of the message;
    /// decode, handler and encode run in the task's own closure, with no async layer between.
    /// Same steps as `handler`: decode, handle, encode.
    package let startUnary: (@Sendable ([UInt8], ServerContext, StreamHandle, (any TaskExecutor)?) -> Task<Void, Never>)?
    /// Typed methods: the same method with a chain of interceptors (not yet bound to it)
    /// around the typed handler, so that a typed unary method keeps `startUnary`. nil: the
    /// chain goes around `handler` (`intercepted(by:)`).
    let withInterceptors: (@Sendable ([any ServerInterceptor]) -> ServerMethod)?

    public init(
        path: String, kind: CallKind,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.path = path
        self.kind = kind
        self.handler = handler
        self.startUnary = nil
        self.withInterceptors = nil
    }

    @usableFromInline
    init(
        path: String, startUnary: @escaping @Sendable ([UInt8], ServerContext, StreamHandle, (any TaskExecutor)?) -> Task<Void, Never>,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void,
        withInterceptors: @escaping @Sendable ([any ServerInterceptor]) -> ServerMethod
    ) {
        self.path = path
        self.kind = .unary
        self.startUnary = startUnary
        self.handler = handler
        self.withInterceptors = withInterceptors
    }

    /// What interceptors know of this method.
    public var info: Info { Info(path: path, kind: kind) }

    /// This method with `chain` around it, the first interceptor outermost, each bound to it
    /// (the router calls this once per method).
    package func intercepted(by chain: [any ServerInterceptor]) -> ServerMethod {
        if chain.isEmpty { return self }
        if let withInterceptors { return withInterceptors(chain) }
        let info = self.info
        let bound = chain.compactMap { $0.bound(to: info) }
        if bound.isEmpty { return self }
        return ServerMethod(path: path, kind: kind, handler: InterceptorChain.streaming(bound, handler))
    }
}

/// A set of methods served together (one protobuf service).
public protocol ServiceProvider: Sendable {
    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    var methods: [ServerMethod] { get }
}
