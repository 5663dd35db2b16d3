import ProtobufCBridge

/// Maps `:path` to methods; immutable once the server starts (lock-free lookups).
public struct ServiceRouter: Sendable {
    /// The methods as registered (the chain is applied to them again when it changes).
    private var registered: [String: ServerMethod] = [:]
    /// The methods as served: each with the interceptors bound to it around it.
    private var methods: [String: MethodEntry] = [:]
    /// The interceptors around every call, outermost first.
    public private(set) var interceptors: [any ServerInterceptor] = []
    /// Service names in registration order (health and reflection list them).
    public private(set) var serviceNames: [String] = []
    /// JSON ⇄ binary for the registered methods' messages: what lets Connect and gRPC-Web
    /// JSON calls reach the binary handlers. Nil: those calls are refused (binary still works).
    public var messageTranscoder: MessageTranscoder?
    /// Plain HTTP GET resources served on the same port (`HTTPGetRoute`), first match wins.
    public var getRoutes: [HTTPGetRoute] = []

    public init() {}

    public mutating func register(_ service: any ServiceProvider) {
        serviceNames.append(service.serviceName)
        for m in service.methods { register(m) }
    }

    public mutating func register(_ method: ServerMethod) {
        registered[method.path] = method
        methods[method.path] = entry(method)
    }

    /// Adds `interceptor` inside those added before, around every method, registered before or
    /// after: each method gets it once, bound to the method (`ServerInterceptor.bound(to:)`).
    public mutating func addInterceptor(_ interceptor: any ServerInterceptor) {
        interceptors.append(interceptor)
        for (path, method) in registered { methods[path] = entry(method) }
    }

    private func entry(_ method: ServerMethod) -> MethodEntry {
        MethodEntry(method.intercepted(by: interceptors))
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
