import GRPCH2
import ProtobufCBridge
import Tracing

/// kato's interceptors fused into one: trace (trace id, span, access log), metrics, auth,
/// rate limits and degradation, in that order (outermost first) and with their semantics, in
/// one async frame. As a chain, each level cost a closure and async frames per call (a task
/// switch per hop, and deeper frames that overflow the task allocator's first slab); here the
/// synchronous parts of every stage run inline and only the handler (and a JWT's
/// verification) is awaited. `KatoServerApp` installs this. Each stage's semantics are
/// written once, in its class (`TraceInterceptor`, `GRPCMetricsInterceptor`, `AuthInterceptor`,
/// `RateLimitInterceptor`, `DegradationInterceptor`), as the synchronous steps called here;
/// none of them is a `ServerInterceptor` of its own. A class: every call's closures capture
/// it, and copying the five stages (loggers, limiters, tables) retained each of their
/// references per copy.
final class KatoInterceptor: ServerInterceptor {
    let trace: TraceInterceptor
    let metrics: GRPCMetricsInterceptor?
    let auth: AuthInterceptor?
    let rateLimit: RateLimitInterceptor?
    let degradation: DegradationInterceptor?

    init(
        trace: TraceInterceptor, metrics: GRPCMetricsInterceptor?, auth: AuthInterceptor?, rateLimit: RateLimitInterceptor?,
        degradation: DegradationInterceptor?
    ) {
        self.trace = trace
        self.metrics = metrics
        self.auth = auth
        self.rateLimit = rateLimit
        self.degradation = degradation
    }

    /// What the stages need to know of one method, worked out once when the method is
    /// registered instead of on every call (each was a parse, a hash or a string compare per
    /// call): its path, metrics, whether it needs credentials and which role, whether it takes
    /// rate-limit tokens, whether MAINTENANCE refuses it. A class: passed down the stages of
    /// every call, as a struct its six references were retained at each copy.
    final class Method: Sendable {
        let path: MethodPath
        let kind: CallKind
        let metrics: GRPCMetricsInterceptor.MethodMetrics?
        /// Authentication applies (on, and not an open service).
        let authenticates: Bool
        let requiredRole: Role
        /// The per-session buckets its handler takes from (nil: none).
        let sessionLimiter: KeyedRateLimiter?
        let takesTokens: Bool
        /// MAINTENANCE refuses it (with a store).
        let degrades: Bool

        init(
            path: MethodPath, kind: CallKind, metrics: GRPCMetricsInterceptor.MethodMetrics?, authenticates: Bool,
            requiredRole: Role, sessionLimiter: KeyedRateLimiter?, takesTokens: Bool, degrades: Bool
        ) {
            self.path = path
            self.kind = kind
            self.metrics = metrics
            self.authenticates = authenticates
            self.requiredRole = requiredRole
            self.sessionLimiter = sessionLimiter
            self.takesTokens = takesTokens
            self.degrades = degrades
        }
    }

    func method(path: String, kind: CallKind) -> Method {
        let parsed = MethodPath(path)
        let takesTokens = rateLimit?.takesTokens(service: parsed.service) ?? false
        return Method(
            path: parsed, kind: kind,
            metrics: metrics?.metrics(path: path, kind: kind),
            authenticates: auth.map { !$0.isOpen(service: parsed.service) } ?? false,
            requiredRole: MethodPolicy.requiredRole(service: parsed.service, method: parsed.method),
            sessionLimiter: rateLimit?.sessionLimiter(takesTokens: takesTokens),
            takesTokens: takesTokens,
            degrades: degradation != nil && DegradationInterceptor.applies(to: path))
    }

    func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        try await around(method(path: context.path, kind: context.kind), context, ()) { _, ctx in try await next(ctx) }
    }

    /// Runs `next(input, context)` (the handler and its request) inside every stage; its result
    /// is the call's. Outermost the trace (trace id, span, access-log line) and the metrics,
    /// timed by one clock reading at each end. The input is passed through rather than
    /// captured so that a typed unary handler is called as it is, without a closure (and an
    /// async frame) around it per call.
    func around<Input, R>(
        _ method: Method, _ context: ServerContext, _ input: Input, _ next: (Input, ServerContext) async throws -> R
    ) async throws -> R {
        var context = context
        let start = CallClock.now()
        let call = trace.begin(&context, start: start, sessionLimiter: method.sessionLimiter)
        if let metrics = method.metrics {
            metrics.started.increment()
            // A unary call's one request and one response are counted in `stages`, not by a hook.
            if method.kind != .unary { context.observeMessages(metrics.observer) }
        }
        do {
            let result: R
            if let span = call.span {
                var ctx = context
                result = try await ServiceContext.withValue(span.context) {
                    try await stages(method, &ctx, call.record, start, input, next)
                }
            } else {
                result = try await stages(method, &context, call.record, start, input, next)
            }
            let elapsed = CallClock.now() - start
            method.metrics?.succeeded(nanoseconds: elapsed)
            trace.end(call, context, code: .ok, error: nil, nanoseconds: elapsed)
            return result
        } catch {
            let elapsed = CallClock.now() - start
            let code = GRPCMetricsInterceptor.code(of: error, context)
            method.metrics?.failed(code, nanoseconds: elapsed)
            trace.end(call, context, code: code, error: error, nanoseconds: elapsed)
            throw error
        }
    }

    /// Auth, rate limits and degradation around the handler.
    @inline(__always)
    private func stages<Input, R>(
        _ method: Method, _ context: inout ServerContext, _ record: CallRecord, _ start: Int64,
        _ input: Input, _ next: (Input, ServerContext) async throws -> R
    ) async throws -> R {
        var principal: Principal?
        var now = start
        if let auth, method.authenticates {
            let p: Principal
            switch try auth.check(context) {
            case .principal(let found): p = found
            case .jwt(let token, let verifier):
                p = try await auth.verify(token, verifier, context)
                now = CallClock.now()  // the verification may have waited: the buckets get the time now
            }
            try auth.authorize(p, required: method.requiredRole, method: method.path.method, &context, record: record)
            principal = p
        }
        let entered = try rateLimit?.admit(
            &context, takesTokens: method.takesTokens, principal: principal?.name ?? Principal.anonymous.name, now: now) ?? false
        defer { if entered { rateLimit?.leave() } }
        if method.degrades, let degradation { try degradation.checkLevel(context) }
        let unary = method.kind == .unary
        if unary { method.metrics?.received.increment() }
        let result = try await next(input, context)
        if unary { method.metrics?.sent.increment() }
        return result
    }

    /// `method` with this interceptor around it, for a method that does not run it already
    /// (streaming methods, health, reflection). The message hooks that stages install are
    /// applied here (the router has no interceptor to apply them).
    func wrap(_ method: ServerMethod) -> ServerMethod {
        let handler = method.handler
        let bound = self.method(path: method.path, kind: method.kind)
        return ServerMethod(path: method.path, kind: method.kind) { requests, writer, context in
            try await self.around(bound, context, ()) { _, ctx in
                guard let observer = ctx.messageObserver else { return try await handler(requests, writer, ctx) }
                let received = observer.received, sent = observer.sent
                try await handler(
                    requests.map { message in
                        try received()
                        return message
                    },
                    writer.map { (message: [UInt8]) -> [UInt8] in
                        sent()
                        return message
                    },
                    ctx)
            }
        }
    }
}

/// A kato service whose typed unary methods run `interceptor` inside themselves: the server
/// then installs no router interceptor, and GRPCH2 serves these methods on its direct unary
/// path (no request stream, response writer or extra task frames per call). Its other methods
/// are wrapped by `InterceptedService`.
protocol KatoService: ServiceProvider {
    var interceptor: KatoInterceptor? { get set }
}

extension KatoService {
    /// `ServerMethod.unary` with the interceptor around the handler (the request is decoded
    /// first, as grpc-go's unary interceptors see it: a request that does not decode ends with
    /// INTERNAL before authentication, metrics or the access log see the call).
    func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        guard let interceptor else { return .unary(descriptor, handler: handler) }
        let method = interceptor.method(path: descriptor.path, kind: .unary)
        return .unary(descriptor) { request, context in
            try await interceptor.around(method, context, request, handler)
        }
    }
}

/// `base` as registered with `interceptor`: a `KatoService`'s unary methods run it themselves,
/// every other method is wrapped (`KatoInterceptor.wrap`).
struct InterceptedService: ServiceProvider {
    let serviceName: String
    let methods: [ServerMethod]

    init(_ base: any ServiceProvider, interceptor: KatoInterceptor) {
        serviceName = base.serviceName
        if var kato = base as? any KatoService {
            kato.interceptor = interceptor
            methods = kato.methods.map { $0.kind == .unary ? $0 : interceptor.wrap($0) }
        } else {
            methods = base.methods.map { interceptor.wrap($0) }
        }
    }
}
