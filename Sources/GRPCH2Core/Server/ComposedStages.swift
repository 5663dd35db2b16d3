/// Two interceptors whose bound forms are `StagedInterceptor`s, as one, `outer` around `inner`:
/// like `ComposedInterceptor`, but once bound (`BoundStages`) the members' steps run one after the
/// other in a single stage (`before`: outer then inner; after the call: inner then outer), so a
/// nest of them costs one async frame around the call instead of one per member.
///
/// Unbound it is a `MethodBoundInterceptor`: the router binds it to each method (each member
/// bound, optional ones nil when absent or when they stay out of the method); called unbound it
/// binds to the call's method on every call.
public struct ComposedStages<Outer: ServerInterceptor, Inner: ServerInterceptor>: MethodBoundInterceptor
where Outer.Bound: StagedInterceptor, Inner.Bound: StagedInterceptor {
    public let outer: Outer
    public let inner: Inner

    public init(_ outer: Outer, _ inner: Inner) {
        self.outer = outer
        self.inner = inner
    }

    /// Each member bound to `method`; nil when none of them stays.
    public func bound(to method: ServerMethod.Info) -> BoundStages<Outer.Bound?, Inner.Bound?>? {
        let outer = outer.bound(to: method), inner = inner.bound(to: method)
        if outer == nil, inner == nil { return nil }
        return BoundStages(outer: outer, inner: inner)
    }

    public var members: [any ServerInterceptor] { outer.members + inner.members }
}

/// Two stages bound to one method (`ComposedStages.bound(to:)`), as one stage. Generic over the
/// bound types themselves (not over `ComposedStages`' parameters' associated types): stored
/// properties of a dependent member type made the specialized chain copy and destroy the
/// value through runtime metadata on every call (docs/BENCHMARKS.md, "staged interceptors").
public struct BoundStages<Outer: StagedInterceptor, Inner: StagedInterceptor>: StagedInterceptor {
    public let outer: Outer
    public let inner: Inner

    @inlinable
    public init(outer: Outer, inner: Inner) {
        self.outer = outer
        self.inner = inner
    }

    public typealias Token = (Outer.Token, Inner.Token)

    /// `outer`'s step, then `inner`'s; when `inner` refuses the call, `outer` sees it fail
    /// (as it would see the call fail with the chain nested).
    @inlinable @inline(__always)
    public func before(_ context: inout ServerContext) throws -> InterceptorStep<Token> {
        switch try outer.before(&context) {
        case .proceed(let o):
            let step: InterceptorStep<Inner.Token>
            do {
                step = try inner.before(&context)
            } catch {
                throw outer.failed(o, context: context, error: error)
            }
            switch step {
            case .proceed(let i): return .proceed((o, i))
            case .suspend(let rest):
                let outer = outer
                return .suspend { context in
                    do {
                        return (o, try await rest(&context))
                    } catch {
                        throw outer.failed(o, context: context, error: error)
                    }
                }
            }
        case .suspend(let rest):
            let outer = outer, inner = inner
            return .suspend { context in
                let o = try await rest(&context)
                do {
                    return (o, try await inner.admit(&context))
                } catch {
                    throw outer.failed(o, context: context, error: error)
                }
            }
        }
    }

    @inlinable @inline(__always)
    public func succeeded(_ token: Token, context: ServerContext) {
        inner.succeeded(token.1, context: context)
        outer.succeeded(token.0, context: context)
    }

    @inlinable @inline(__always)
    public func failed(_ token: Token, context: ServerContext, error: any Error) -> any Error {
        outer.failed(token.0, context: context, error: inner.failed(token.1, context: context, error: error))
    }

    @inlinable @inline(__always)
    public func bindsAround(_ token: Token) -> Bool {
        outer.bindsAround(token.0) || inner.bindsAround(token.1)
    }

    /// `outer`'s binding around `inner`'s around `body` (each only when it binds).
    @inlinable @inline(__always)
    public nonisolated(nonsending) func around<R>(
        _ token: Token, _ body: nonisolated(nonsending) () async throws -> R
    ) async throws -> R {
        guard outer.bindsAround(token.0) else { return try await inner.around(token.1, body) }
        return try await outer.around(token.0) {
            inner.bindsAround(token.1) ? try await inner.around(token.1, body) : try await body()
        }
    }
}
