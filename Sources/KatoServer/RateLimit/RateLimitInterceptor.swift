import GRPCH2
import Metrics

/// Applies `RateLimitConfiguration`: refuses a call over the concurrency limit at once, takes a
/// token from the principal's bucket for every request message (streams included), and hands
/// the per-session limiter to the handlers (they know the session). Over a limit the call ends
/// with RESOURCE_EXHAUSTED, `RetryInfo` and `grpc-retry-pushback-ms`; nothing is queued.
///
/// Runs after `AuthInterceptor` (it keys on the principal). Services in `exempt` (health,
/// reflection) skip the token buckets, not the concurrency limit.
public struct RateLimitInterceptor: ServerInterceptor {
    let principals: KeyedRateLimiter?
    let sessions: KeyedRateLimiter?
    let concurrency: ConcurrencyLimiter?
    let overloadRetryAfter: Duration
    let exempt: [Substring]
    let limited: Counter
    let limitedPrincipal: Counter

    public init(configuration: RateLimitConfiguration, exempt: Set<String> = []) {
        principals = configuration.perPrincipal.map { KeyedRateLimiter(limit: $0) }
        sessions = configuration.perSession.map { KeyedRateLimiter(limit: $0) }
        concurrency = configuration.maxConcurrentCalls > 0 ? ConcurrencyLimiter(limit: configuration.maxConcurrentCalls) : nil
        overloadRetryAfter = configuration.overloadRetryAfter
        self.exempt = exempt.map { Substring($0) }
        limited = Counter(label: "kato_rate_limited_total", dimensions: [("scope", "concurrency")])
        limitedPrincipal = Counter(label: "kato_rate_limited_total", dimensions: [("scope", "principal")])
    }

    public func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        var context = context
        let record = context.callRecord
        // The record has the principal's name when AuthInterceptor ran ("" when
        // authentication is off): one attribute read less per call.
        let principal = record.map { $0.principal.isEmpty ? Principal.anonymous.name : $0.principal }
            ?? context.principal?.name ?? Principal.anonymous.name
        let entered = try admit(&context, context.methodPath, record: record, principal: principal)
        defer { if entered { leave() } }
        try await next(context)
    }

    /// Admits one call or throws its RESOURCE_EXHAUSTED error. True when it entered the
    /// concurrency limit: pair with `leave()` when the call ends.
    func admit(_ context: inout ServerContext, _ path: MethodPath, record: CallRecord?, principal key: String) throws -> Bool {
        if let concurrency {
            guard concurrency.enter() else {
                limited.increment()
                throw KatoError.overloaded(limit: concurrency.limit, retryAfter: overloadRetryAfter).rpcError(traceID: context.traceID)
            }
        }
        do {
            try admitTokens(&context, path, record: record, principal: key)
        } catch {
            concurrency?.leave()
            throw error
        }
        return concurrency != nil
    }

    func leave() {
        concurrency?.leave()
    }

    private func admitTokens(_ context: inout ServerContext, _ path: MethodPath, record: CallRecord?, principal key: String) throws {
        guard !AuthInterceptor.contains(exempt, path.service) else { return }
        if let sessions {
            // In the call's record when there is one (no extra attribute per call).
            if let record {
                record.record(sessionLimiter: sessions)
            } else {
                context.attributes[SessionRateLimiterKey.self] = sessions
            }
        }
        guard let principals else { return }
        if context.kind == .unary || context.kind == .serverStreaming {
            // One request message, which the handler always reads: take its token now
            // (the same count, without a per-call message hook).
            if let wait = principals.acquire(key) {
                limitedPrincipal.increment()
                throw KatoError.rateLimited(scope: "principal", retryAfter: wait).rpcError(traceID: context.traceID)
            }
        } else {
            let traceID = context.traceID
            let counter = limitedPrincipal
            context.observeMessages(MessageObserver(received: {
                if let wait = principals.acquire(key) {
                    counter.increment()
                    throw KatoError.rateLimited(scope: "principal", retryAfter: wait).rpcError(traceID: traceID)
                }
            }))
        }
    }
}

extension ServerContext {
    /// Takes a token from `sessionID`'s bucket (when a session limit is configured).
    func admitSessionRequest(_ sessionID: String) throws(KatoError) {
        guard let limiter = callRecord?.sessionLimiter ?? sessionRateLimiter, let wait = limiter.acquire(sessionID) else { return }
        Counter(label: "kato_rate_limited_total", dimensions: [("scope", "session")]).increment()
        throw .rateLimited(scope: "session", retryAfter: wait)
    }
}
