import GRPCH2
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
        var context = context
        let call = trace.begin(&context)
        var code = StatusCode.ok
        var failure: (any Error)?
        defer { trace.end(call, context, code: code, error: failure) }
        do {
            if let span = call.span {
                let ctx = context
                try await ServiceContext.withValue(span.context) { try await stages(ctx, call.record, next) }
            } else {
                try await stages(context, call.record, next)
            }
        } catch {
            code = GRPCMetricsInterceptor.code(of: error, context)
            failure = error
            throw error
        }
    }

    /// Metrics around auth, rate limits, degradation and the handler.
    @inline(__always)
    private func stages(
        _ context: ServerContext, _ record: CallRecord, _ next: @Sendable (ServerContext) async throws -> Void
    ) async throws {
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
            try await next(context)
            if unary, let metered { metered.metrics.sent.increment() }
        } catch {
            if let metrics, let metered { metrics.failed(metered, error, context) }
            throw error
        }
        if let metrics, let metered { metrics.succeeded(metered) }
    }
}
