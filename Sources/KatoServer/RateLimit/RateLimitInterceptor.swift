import GRPCH2
import KatoSupport
import Metrics

/// Applies `RateLimitConfiguration`: refuses a call over the concurrency limit at once, takes a
/// token from the principal's bucket for every request message (streams included), and hands
/// the per-session limiter to the handlers (they know the session). Over a limit the call ends
/// with RESOURCE_EXHAUSTED, `RetryInfo` and `grpc-retry-pushback-ms`; nothing is queued.
///
/// Runs after `AuthInterceptor` (it keys on the principal). Services in `exempt` (health,
/// reflection) skip the token buckets, not the concurrency limit.
public final class RateLimitInterceptor: MethodBoundInterceptor {
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

    /// Whether calls to `service` take tokens (health and reflection do not).
    func takesTokens(service: Substring) -> Bool { !AuthInterceptor.contains(exempt, service) }

    /// The per-session buckets for the handler of a method that takes tokens (nil: exempt, or
    /// no session limit configured).
    func sessionLimiter(takesTokens: Bool) -> KeyedRateLimiter? { takesTokens ? sessions : nil }

    public func bound(to method: ServerMethod.Info) -> Bound? {
        let takesTokens = takesTokens(service: method.serviceName)
        if concurrency == nil, !takesTokens || (principals == nil && sessions == nil) { return nil }
        return Bound(limits: self, takesTokens: takesTokens, sessionLimiter: sessionLimiter(takesTokens: takesTokens))
    }


    /// The interceptor for one method: whether it takes tokens, and its session buckets.
    public struct Bound: StagedInterceptor {
        let limits: RateLimitInterceptor
        let takesTokens: Bool
        let sessionLimiter: KeyedRateLimiter?

        /// Admits the call (concurrency, the principal's tokens); the token says whether it
        /// entered the concurrency limit, left when the call ends.
        @inline(__always)  // into the composed stages (`ComposedStages`)
        public func before(_ context: inout ServerContext) throws -> InterceptorStep<Bool> {
            if let sessionLimiter {
                if let record = context.callRecord {
                    record.sessionLimiter = sessionLimiter
                } else {
                    context.attributes[SessionRateLimiterKey.self] = sessionLimiter
                }
            }
            let principal = context.principal?.name ?? Principal.anonymous.name
            return .proceed(try limits.admit(&context, takesTokens: takesTokens, principal: principal, now: CallClock.now()))
        }

        @inline(__always)
        public func succeeded(_ entered: Bool, context: ServerContext) {
            if entered { limits.leave() }
        }

        @inline(__always)
        public func failed(_ entered: Bool, context: ServerContext, error: any Error) -> any Error {
            if entered { limits.leave() }
            return error
        }
    }

    /// Admits one call or throws its RESOURCE_EXHAUSTED error. True when it entered the
    /// concurrency limit: pair with `leave()` when the call ends. `now` is `CallClock`'s.
    func admit(_ context: inout ServerContext, takesTokens: Bool, principal key: String, now: Int64) throws -> Bool {
        if let concurrency {
            guard concurrency.enter() else {
                limited.increment()
                throw KatoError.overloaded(limit: concurrency.limit, retryAfter: overloadRetryAfter)
            }
        }
        if takesTokens {
            do {
                try admitPrincipal(&context, key, now: now)
            } catch {
                concurrency?.leave()
                throw error
            }
        }
        return concurrency != nil
    }

    func leave() {
        concurrency?.leave()
    }

    /// A token from the principal's bucket for each request message.
    private func admitPrincipal(_ context: inout ServerContext, _ key: String, now: Int64) throws {
        guard let principals else { return }
        if context.kind == .unary || context.kind == .serverStreaming {
            // One request message, which the handler always reads: take its token now
            // (the same count, without a per-call message hook).
            if let wait = principals.acquire(key, at: now) {
                limitedPrincipal.increment()
                throw KatoError.rateLimited(scope: "principal", retryAfter: wait)
            }
        } else {
            let counter = limitedPrincipal
            context.observeMessages(MessageObserver(received: {
                if let wait = principals.acquire(key) {
                    counter.increment()
                    throw KatoError.rateLimited(scope: "principal", retryAfter: wait)
                }
            }))
        }
    }
}

extension ServerContext {
    /// Takes a token from `sessionID`'s bucket (when a session limit is configured).
    func admitSessionRequest(_ sessionID: String) throws(KatoError) {
        try RateLimitInterceptor.admitSession(sessionID, callRecord?.sessionLimiter ?? sessionRateLimiter)
    }
}

extension RateLimitInterceptor {
    /// Takes a token from `sessionID`'s bucket in `limiter` (nil: no session limit).
    static func admitSession(_ sessionID: String, _ limiter: KeyedRateLimiter?) throws(KatoError) {
        guard let limiter, let wait = limiter.acquire(sessionID) else { return }
        Counter(label: "kato_rate_limited_total", dimensions: [("scope", "session")]).increment()
        throw .rateLimited(scope: "session", retryAfter: wait)
    }
}
