/// Maps `:path` to methods; immutable once the server starts (lock-free lookups).
public struct ServiceRouter: Sendable {
    private var methods: [String: ServerMethod] = [:]
    /// The interceptors around every call, outermost first.
    public private(set) var interceptors: [any ServerInterceptor] = []
    /// Service names in registration order (health and reflection list them).
    public private(set) var serviceNames: [String] = []

    public init() {}

    public mutating func register(_ service: any ServiceProvider) {
        serviceNames.append(service.serviceName)
        for m in service.methods { methods[m.path] = m }
    }

    public mutating func register(_ method: ServerMethod) {
        methods[method.path] = method
    }

    public mutating func addInterceptor(_ interceptor: any ServerInterceptor) {
        interceptors.append(interceptor)
    }

    func method(for path: String) -> ServerMethod? { methods[path] }
}
