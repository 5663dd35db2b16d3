/// Two interceptors as one, `outer` around `inner`: a chain whose types are known where a
/// typed method is declared (`ServerMethod.unary(_:interceptedBy:handler:)`), so the compiler
/// specializes it for the method's request and response (no existential call or generic frame
/// per member). Nest it for longer chains, and make a member optional (`Optional` is an interceptor
/// that passes the call through when nil) for one a configuration may leave out.
/// It is still one `ServerInterceptor`: the router binds it and calls it like any other.
public struct ComposedInterceptor<Outer: ServerInterceptor, Inner: ServerInterceptor>: ServerInterceptor {
    public let outer: Outer
    public let inner: Inner

    public init(_ outer: Outer, _ inner: Inner) {
        self.outer = outer
        self.inner = inner
    }

    /// Each member bound to `method`; nil when none of them stays.
    public func bound(to method: ServerMethod.Info) -> ComposedInterceptor<Outer.Bound?, Inner.Bound?>? {
        let outer = outer.bound(to: method), inner = inner.bound(to: method)
        if outer == nil, inner == nil { return nil }
        return ComposedInterceptor<Outer.Bound?, Inner.Bound?>(outer, inner)
    }

    // Inlined (with the members' bodies, which are `@inline(__always)` in kato) so that a
    // specialized chain has fewer async levels: each is a frame from the task's allocator and
    // a hop back to the caller's executor after its await (docs/BENCHMARKS.md).
    @inlinable @inline(__always)
    public nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response {
        try await outer.intercept(request: request, context: context) { request, context in
            try await inner.intercept(request: request, context: context, next: next)
        }
    }

    public var members: [any ServerInterceptor] { outer.members + inner.members }
}

/// An interceptor a configuration may leave out: nil passes every call through.
extension Optional: ServerInterceptor where Wrapped: ServerInterceptor {
    public func bound(to method: ServerMethod.Info) -> Wrapped.Bound? {
        self?.bound(to: method) ?? nil
    }

    // Inlined (with the members' bodies, which are `@inline(__always)` in kato) so that a
    // specialized chain has fewer async levels: each is a frame from the task's allocator and
    // a hop back to the caller's executor after its await (docs/BENCHMARKS.md).
    @inlinable @inline(__always)
    public nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response {
        guard let self else { return try await next(request, context) }
        return try await self.intercept(request: request, context: context, next: next)
    }

    public var members: [any ServerInterceptor] { self?.members ?? [] }
}

/// The interceptor type of a typed method declared without one (`ServerMethod.unary(_:handler:)`):
/// no router chain is this type, so such a method is always intercepted through the protocol.
public enum NoInterceptor: ServerInterceptor {
    public nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response {
        switch self {}
    }
}
