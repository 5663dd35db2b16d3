import ProtobufCBridge

/// A method as the runtime sees it: serialized messages in, serialized messages out.
/// Typed handlers (`ServerMethod.unary(...)` and friends in `TypedHandlers.swift`) wrap this.
public struct ServerMethod: Sendable {
    public let path: String
    public let kind: CallKind
    let handler: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void

    public init(
        path: String, kind: CallKind,
        handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.path = path
        self.kind = kind
        self.handler = handler
    }
}

/// A set of methods served together (one protobuf service).
public protocol ServiceProvider: Sendable {
    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    var methods: [ServerMethod] { get }
}
