import ProtobufCBridge

/// Runs around calls (unary and streaming), outermost first: the one interceptor mechanism.
///
/// An interceptor can reject a call by throwing (an `RPCErrorConvertible` error becomes its
/// status), read request metadata, attach attributes or response metadata for the handler,
/// install a `MessageObserver`, and observe the outcome: `next` returns the handler's result
/// and throws its error.
///
/// It is generic over the call's request and response: for a typed unary method they are the
/// decoded request and the response message (the router composes the chain into the method's
/// direct unary path once, when the method is registered, so a call pays one call per
/// interceptor and no request stream or writer); for every other method they are
/// `StreamingCall` and `Void`. Most interceptors pass both through untouched.
///
/// `bound(to:)` is asked once per method when the router is built: an interceptor works out
/// there what it needs to know of the method (instead of on every call) and returns its
/// `Bound` form holding it (`self` by default), or nil to stay out of that method's calls
/// altogether.
///
/// `intercept` and its `next` are `nonisolated(nonsending)`: they run on the caller's
/// executor, so passing a call down the chain costs no executor check per interceptor (a
/// `swift_task_switch` each, with the call's task executor preference looked up under a lock).
///
/// A chain known where a typed method is declared (`ComposedInterceptor`, registered with
/// `ServerMethod.unary(_:interceptedBy:handler:)`) is specialized for the method's types; any
/// other chain is called through the protocol. An interceptor whose work needs no suspension
/// around the call is better written as a `StagedInterceptor` (steps before and after the call,
/// composed with `ComposedStages` into one frame).
public protocol ServerInterceptor: Sendable {
    /// What this interceptor is once bound to a method.
    associatedtype Bound: ServerInterceptor = Self

    func bound(to method: ServerMethod.Info) -> Bound?

    nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response

    /// The interceptors this one is made of, outermost first (itself, for a plain one; none
    /// for an absent optional one).
    var members: [any ServerInterceptor] { get }
}

/// The rest of the chain and the handler, as an interceptor sees them.
public typealias InterceptorNext<Request, Response> = nonisolated(nonsending) (Request, ServerContext) async throws -> Response

extension ServerInterceptor where Bound == Self {
    public func bound(to method: ServerMethod.Info) -> Self? { self }
}

extension ServerInterceptor {
    public var members: [any ServerInterceptor] { [self] }
}

/// An interceptor whose work is all in its `Bound` form (what it knows of a method decided
/// once, in `bound(to:)`; `Bound` is another type). Called unbound (through a chain the
/// router did not bind, or directly), it binds to the call's method on every call.
public protocol MethodBoundInterceptor: ServerInterceptor {}

extension MethodBoundInterceptor {
    public nonisolated(nonsending) func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
    ) async throws -> Response {
        assert(Bound.self != Self.self, "a MethodBoundInterceptor bound to itself would call this forever")
        guard let bound = bound(to: ServerMethod.Info(path: context.path, kind: context.kind)) else {
            return try await next(request, context)
        }
        return try await bound.intercept(request: request, context: context, next: next)
    }
}

extension ServerMethod {
    /// What an interceptor may know of a method before any call: its path and kind.
    public struct Info: Sendable, Hashable {
        /// The full method path, e.g. `/kato.v2.ObserveService/Observe`.
        public let path: String
        public let kind: CallKind

        public init(path: String, kind: CallKind) {
            self.path = path
            self.kind = kind
        }

        /// The service part of the path (`kato.v2.ObserveService`).
        public var serviceName: Substring { path.dropFirst().split(separator: "/", maxSplits: 1).first ?? "" }
        /// The method part of the path (`Observe`).
        public var methodName: Substring { path.split(separator: "/").last ?? "" }
    }
}

/// What an interceptor around a streaming (or untyped) method receives as its request: the
/// request stream and the response writer, serialized messages both.
public struct StreamingCall: Sendable {
    public var requests: RequestStream<[UInt8]>
    public var writer: ResponseWriter<[UInt8]>

    public init(requests: RequestStream<[UInt8]>, writer: ResponseWriter<[UInt8]>) {
        self.requests = requests
        self.writer = writer
    }
}

/// The chain of a method's bound interceptors around a handler.
@usableFromInline
enum InterceptorChain {
    /// `handler` inside `interceptor` (a `ComposedInterceptor` for several), whose type is
    /// known where the typed method is made: `@inlinable`, the whole chain is specialized for
    /// the method's request and response, with no existential call or generic frame per
    /// interceptor.
    @inlinable
    static func unary<Request: Sendable, Response: Sendable, Interceptor: ServerInterceptor>(
        _ interceptor: Interceptor, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> @Sendable (Request, ServerContext) async throws -> Response {
        { request, context in
            try await interceptor.intercept(request: request, context: context) { request, context in
                try await observed(handler, request, context)
            }
        }
    }

    /// `handler` inside `stages` (a `ComposedStages` nest, bound): what the stages' derived
    /// `intercept` does, written into the one closure around the handler, so the steps cost no
    /// async frame of their own (only a stage that suspends or binds pays one).
    ///
    /// The steps themselves run in synchronous functions that are specialized but not inlined
    /// (`admit`, `succeed`, `fail`): the closure is a coroutine whose frame, taken from the
    /// call's task allocator, holds every local of whatever is inlined into it; with the stages'
    /// bodies inlined it was 4–6 KB per method (each call a slab of its own from `malloc`),
    /// out of line it holds the token, the context and the response (docs/BENCHMARKS.md,
    /// "flat tokens").
    @inlinable
    static func staged<Request: Sendable, Response: Sendable, Stages: StagedInterceptor>(
        _ stages: Stages, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> @Sendable (Request, ServerContext) async throws -> Response {
        { request, context in
            var context = context
            let token: Stages.Token
            switch try admit(stages, &context) {
            case .proceed(let t): token = t
            case .suspend(let rest): token = try await rest(&context)
            }
            let response: Response
            do {
                response = stages.bindsAround(token)
                    ? try await bound(stages, token, handler, request, context)
                    : try await observed(handler, request, context)
            } catch {
                throw fail(stages, token, context, error)
            }
            succeed(stages, token, context)
            return response
        }
    }

    /// The handler inside what the stages bind around it (a span's context), in a frame of its
    /// own that only such calls pay (inlined, its closures and the binding's locals were in
    /// every call's frame; see `staged`).
    @inlinable @inline(never)
    nonisolated(nonsending) static func bound<Request: Sendable, Response: Sendable, Stages: StagedInterceptor>(
        _ stages: Stages, _ token: Stages.Token, _ handler: @Sendable (Request, ServerContext) async throws -> Response,
        _ request: Request, _ context: ServerContext
    ) async throws -> Response {
        try await stages.around(token) { try await observed(handler, request, context) }
    }

    /// The stages' `before` steps, out of the coroutine (see `staged`).
    @inlinable @inline(never)
    static func admit<Stages: StagedInterceptor>(
        _ stages: Stages, _ context: inout ServerContext
    ) throws -> InterceptorStep<Stages.Token> {
        try stages.before(&context)
    }

    /// The stages' `succeeded` steps, out of the coroutine (see `staged`).
    @inlinable @inline(never)
    static func succeed<Stages: StagedInterceptor>(_ stages: Stages, _ token: Stages.Token, _ context: ServerContext) {
        stages.succeeded(token, context: context)
    }

    /// The stages' `failed` steps, out of the coroutine (see `staged`).
    @inlinable @inline(never)
    static func fail<Stages: StagedInterceptor>(
        _ stages: Stages, _ token: Stages.Token, _ context: ServerContext, _ error: any Error
    ) -> any Error {
        stages.failed(token, context: context, error: error)
    }

    /// `handler` inside every interceptor of `chain`, the first one outermost, each called
    /// through the protocol.
    @inlinable
    static func unary<Request: Sendable, Response: Sendable>(
        _ chain: [any ServerInterceptor], _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> @Sendable (Request, ServerContext) async throws -> Response {
        var composed: nonisolated(nonsending) @Sendable (Request, ServerContext) async throws -> Response = { request, context in
            try await observed(handler, request, context)
        }
        for interceptor in chain.reversed() {
            let next = composed
            composed = { request, context in try await interceptor.intercept(request: request, context: context, next: next) }
        }
        let outer = composed
        return { request, context in try await outer(request, context) }
    }

    /// Innermost in a unary chain: the context's `MessageObserver` sees the one request and
    /// the one response (streams are observed message by message, see `streaming`).
    @inlinable @inline(__always)
    nonisolated(nonsending) static func observed<Request: Sendable, Response: Sendable>(
        _ handler: @Sendable (Request, ServerContext) async throws -> Response, _ request: Request, _ context: ServerContext
    ) async throws -> Response {
        guard let observer = context.messageObserver else { return try await handler(request, context) }
        try observer.received()
        let response = try await handler(request, context)
        observer.sent()
        return response
    }

    /// The general form of `unary`: the handler reads and writes serialized messages, each of
    /// which the context's `MessageObserver` (if any) sees.
    static func streaming(
        _ chain: [any ServerInterceptor],
        _ handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) -> @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void {
        var composed: nonisolated(nonsending) @Sendable (StreamingCall, ServerContext) async throws -> Void = { call, context in
            guard let observer = context.messageObserver else { return try await handler(call.requests, call.writer, context) }
            try await handler(call.requests.observed(by: observer), call.writer.observed(by: observer), context)
        }
        for interceptor in chain.reversed() {
            let next = composed
            composed = { call, context in try await interceptor.intercept(request: call, context: context, next: next) }
        }
        let outer = composed
        return { requests, writer, context in try await outer(StreamingCall(requests: requests, writer: writer), context) }
    }
}
