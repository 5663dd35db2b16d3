import GRPCH2
import ProtobufCBridge
import Tracing

/// kato's interceptors fused into one: trace (trace id, span, access log), metrics, auth,
/// rate limits and degradation, in that order (outermost first) and with their semantics, in
/// one async frame. As a chain, each level cost a closure and async frames per call (a task
/// switch per hop, and deeper frames that overflow the task allocator's first slab); here the
/// synchronous parts of every stage run inline and only the handler (and a JWT's
/// verification) is awaited. `KatoServerApp` installs this; the separate interceptors remain
/// for use on their own.
struct KatoInterceptor: ServerInterceptor {
    let trace: TraceInterceptor
    let metrics: GRPCMetricsInterceptor?
    let auth: AuthInterceptor?
    let rateLimit: RateLimitInterceptor?
    let degradation: DegradationInterceptor?

    func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        try await around(context, next)
    }

    /// Runs `body` (the handler) inside every stage; its result is the call's.
    func around<R>(_ context: ServerContext, _ next: (ServerContext) async throws -> R) async throws -> R {
        var context = context
        let call = trace.begin(&context)
        var code = StatusCode.ok
        var failure: (any Error)?
        defer { trace.end(call, context, code: code, error: failure) }
        do {
            if let span = call.span {
                let ctx = context
                return try await ServiceContext.withValue(span.context) { try await stages(ctx, call.record, next) }
            } else {
                return try await stages(context, call.record, next)
            }
        } catch {
            code = GRPCMetricsInterceptor.code(of: error, context)
            failure = error
            throw error
        }
    }

    /// Metrics around auth, rate limits, degradation and the handler.
    @inline(__always)
    private func stages<R>(
        _ context: ServerContext, _ record: CallRecord, _ next: (ServerContext) async throws -> R
    ) async throws -> R {
        var context = context
        let path = MethodPath(context.path)
        // A unary call has one request (the handler always reads it) and, when it succeeds,
        // one response: counted here instead of through a message hook.
        let unary = context.kind == .unary
        let metered = metrics.map { $0.begin(&context, countsMessages: !unary) }
        do {
            var principal: Principal?
            if let auth {
                switch try auth.check(context, path) {
                case .open:
                    break
                case .principal(let p):
                    try auth.authorize(p, &context, path, record: record)
                    principal = p
                case .jwt(let token, let verifier):
                    let p = try await auth.verify(token, verifier, context)
                    try auth.authorize(p, &context, path, record: record)
                    principal = p
                }
            }
            let entered = try rateLimit?.admit(
                &context, path, record: record, principal: principal?.name ?? Principal.anonymous.name) ?? false
            defer { if entered { rateLimit?.leave() } }
            try degradation?.check(context)
            if unary, let metered { metered.metrics.received.increment() }
            let result = try await next(context)
            if unary, let metered { metered.metrics.sent.increment() }
            if let metrics, let metered { metrics.succeeded(metered) }
            return result
        } catch {
            if let metrics, let metered { metrics.failed(metered, error, context) }
            throw error
        }
    }

    /// `method` with this interceptor around it, for a method that does not run it already
    /// (streaming methods, health, reflection). The message hooks that stages install are
    /// applied here (the router has no interceptor to apply them).
    func wrap(_ method: ServerMethod) -> ServerMethod {
        let handler = method.handler
        return ServerMethod(path: method.path, kind: method.kind) { requests, writer, context in
            try await around(context) { ctx in
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
        return .unary(descriptor) { request, context in
            try await interceptor.around(context) { ctx in try await handler(request, ctx) }
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
