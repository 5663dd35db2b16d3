import ProtobufCBridge

/// Maps `:path` to methods; immutable once the server starts (lock-free lookups).
public struct ServiceRouter: Sendable {
    private var methods: [String: MethodEntry] = [:]
    /// The interceptors around every call, outermost first.
    public private(set) var interceptors: [any ServerInterceptor] = []
    /// Service names in registration order (health and reflection list them).
    public private(set) var serviceNames: [String] = []
    /// JSON ⇄ binary for the registered methods' messages: what lets Connect and gRPC-Web
    /// JSON calls reach the binary handlers. Nil: those calls are refused (binary still works).
    public var messageTranscoder: MessageTranscoder?

    public init() {}

    public mutating func register(_ service: any ServiceProvider) {
        serviceNames.append(service.serviceName)
        for m in service.methods { methods[m.path] = MethodEntry(m) }
    }

    public mutating func register(_ method: ServerMethod) {
        methods[method.path] = MethodEntry(method)
    }

    public mutating func addInterceptor(_ interceptor: any ServerInterceptor) {
        interceptors.append(interceptor)
    }

    package func method(for path: String) -> MethodEntry? { methods[path] }
}

/// A registered method, boxed once: a call's stream refers to it with one retain instead of
/// copying the struct (its path and two closures: three retains and releases per call).
package final class MethodEntry: Sendable {
    package let method: ServerMethod
    package var kind: CallKind { method.kind }

    package init(_ method: ServerMethod) {
        self.method = method
    }
}
