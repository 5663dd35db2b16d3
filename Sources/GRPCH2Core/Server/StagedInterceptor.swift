/// A `ServerInterceptor` written as two steps around the call instead of a body that awaits it:
/// `before` (may change the context, may refuse the call by throwing, returns what `after` needs)
/// and `succeeded` / `failed` (see the outcome; `failed` returns the error the call ends with).
/// Its `intercept` is derived from the steps: the same mechanism, the semantics written once.
///
/// Why: each async level of a chain costs the call's task a frame, the values it keeps across
/// its `await` and a hop back to the executor. Stages composed with `ComposedStages` run one
/// after another in one frame around a single `await` of the rest of the call, as a hand-fused
/// interceptor would (docs/BENCHMARKS.md, "staged interceptors"). Only an interceptor that must
/// wrap the call (hold something across it in a scope, retry it) needs the plain form.
///
/// Two escapes keep rare async work possible without a frame on every call:
/// - `before` may return `.suspend(rest)`: the rest of its step is awaited (a JWT's
///   verification) before the stages inside run.
/// - `bindsAround(token)` true makes `around(token, body)` wrap the rest of the call (a
///   task-local value such as a span's context); false (the default) costs nothing.
///
/// ```swift
/// struct Timing: StagedInterceptor {
///     func before(_ context: inout ServerContext) throws -> InterceptorStep<Int64> { .proceed(now()) }
///     func succeeded(_ start: Int64, context: ServerContext) { record(now() - start) }
/// }
/// ```
public protocol StagedInterceptor: ServerInterceptor where Bound: StagedInterceptor {
    /// What `before` hands to `succeeded` / `failed` (a start time, a permit to give back).
    associatedtype Token

    /// Runs before the call (and before the stages inside this one). Throwing refuses the call:
    /// this stage's `succeeded` / `failed` are then not called, those of the stages outside are.
    func before(_ context: inout ServerContext) throws -> InterceptorStep<Token>

    /// Runs after the call returned a response (the stages inside first).
    func succeeded(_ token: Token, context: ServerContext)

    /// Runs after the call (or a stage inside this one) failed with `error`; returns the error
    /// the call ends with (`error` itself unless this stage maps it, e.g. to a status).
    func failed(_ token: Token, context: ServerContext, error: any Error) -> any Error

    /// Whether this call must run inside `around(token, _:)`.
    func bindsAround(_ token: Token) -> Bool

    /// Runs `body` (the stages inside and the handler) inside whatever this stage binds for the
    /// call, when `bindsAround(token)`.
    nonisolated(nonsending) func around<R>(_ token: Token, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R
}

/// What a stage's `before` decided.
public enum InterceptorStep<Token> {
    /// Go on with the call.
    case proceed(Token)
    /// Finish the step asynchronously first (a rare path: the call pays an async frame for it).
    case suspend(_ rest: nonisolated(nonsending) (inout ServerContext) async throws -> Token)
}

extension StagedInterceptor {
    @inlinable @inline(__always)
    public func succeeded(_ token: Token, context: ServerContext) {}

    @inlinable @inline(__always)
    public func failed(_ token: Token, context: ServerContext, error: any Error) -> any Error { error }

    @inlinable @inline(__always)
    public func bindsAround(_ token: Token) -> Bool { false }

    @inlinable @inline(__always)
    public nonisolated(nonsending) func around<R>(
        _ token: Token, _ body: nonisolated(nonsending) () async throws -> R
    ) async throws -> R {
        try await body()
    }

    /// `before`, finished asynchronously when it suspends.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func admit(_ context: inout ServerContext) async throws -> Token {
        switch try before(&context) {
        case .proceed(let token): return token
        case .suspend(let rest): return try await rest(&context)
        }
    }

    /// The interceptor's body, derived from its steps.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response {
        var context = context
        let token = try await admit(&context)
        let response: Response
        do {
            if bindsAround(token) {
                let inner = context
                response = try await around(token) { try await next(request, inner) }
            } else {
                response = try await next(request, context)
            }
        } catch {
            throw failed(token, context: context, error: error)
        }
        succeeded(token, context: context)
        return response
    }
}

/// A stage a configuration may leave out: nil passes every call through.
extension Optional: StagedInterceptor where Wrapped: StagedInterceptor {
    public typealias Token = Wrapped.Token?

    @inlinable @inline(__always)
    public func before(_ context: inout ServerContext) throws -> InterceptorStep<Wrapped.Token?> {
        guard let self else { return .proceed(nil) }
        switch try self.before(&context) {
        case .proceed(let token): return .proceed(token)
        case .suspend(let rest): return .suspend { context in try await rest(&context) }
        }
    }

    @inlinable @inline(__always)
    public func succeeded(_ token: Wrapped.Token?, context: ServerContext) {
        if let self, let token { self.succeeded(token, context: context) }
    }

    @inlinable @inline(__always)
    public func failed(_ token: Wrapped.Token?, context: ServerContext, error: any Error) -> any Error {
        guard let self, let token else { return error }
        return self.failed(token, context: context, error: error)
    }

    @inlinable @inline(__always)
    public func bindsAround(_ token: Wrapped.Token?) -> Bool {
        guard let self, let token else { return false }
        return self.bindsAround(token)
    }

    @inlinable @inline(__always)
    public nonisolated(nonsending) func around<R>(
        _ token: Wrapped.Token?, _ body: nonisolated(nonsending) () async throws -> R
    ) async throws -> R {
        guard let self, let token else { return try await body() }
        return try await self.around(token, body)
    }
}
