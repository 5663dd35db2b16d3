import KatoStore
import Logging

extension KatoServerApp {
    /// Puts new feature flags in force, without touching a call or a subscription: the handlers
    /// read them per call, the store's status takes the forced level, maintenance and breaker
    /// switch, the rate limiters their rates, the access log its level. Returns what changed
    /// (name, old, new), for the caller's log line.
    @discardableResult
    public func apply(flags new: FeatureFlags) -> [(name: String, old: String, new: String)] {
        let old = flags.replace(with: new)
        let reason = new.maintenance
            ? "maintenance mode (feature flag maintenance)"
            : new.degradationLevel == .maintenance ? "forced by the feature flag degradation_level" : nil
        for status in [store?.status, sessions.nodes.replicated?.status].compactMap({ $0 }) {
            status.setOverrides(minimumLevel: new.degradationLevel, maintenanceReason: reason, breakerEnabled: new.circuitBreaker)
        }
        if lifecycle.phase.load(ordering: .relaxed) == 1 { healthPublisher?.publish() }
        if let rateLimiter {
            let start = startRateLimits
            func limit(_ rate: Double?, _ burst: Double?, _ initial: TokenBucket.Limit?) -> TokenBucket.Limit? {
                guard new.rateLimits else { return nil }
                let r = rate ?? initial?.rate ?? 0
                guard r > 0 else { return nil }
                return TokenBucket.Limit(rate: r, burst: max(1, burst ?? (rate == nil ? initial?.burst : nil) ?? r))
            }
            rateLimiter.principals?.reconfigure(limit(new.rateLimitPrincipalRate, new.rateLimitPrincipalBurst, start.perPrincipal))
            rateLimiter.sessions?.reconfigure(limit(new.rateLimitSessionRate, new.rateLimitSessionBurst, start.perSession))
        }
        switch new.accessLogLevel {
        case nil: trace?.overrideAccessLog(nil)
        case .off?: trace?.overrideAccessLog(.some(nil))
        case .level(let l)?: trace?.overrideAccessLog(.some(l))
        }
        FlagMetrics.record(new)
        return old.changes(to: new)
    }

    /// What the flags cannot do on this server (logged as warnings when they are loaded).
    public func flagLimitations(_ f: FeatureFlags) -> [String] {
        var out: [String] = []
        if store == nil, sessions.nodes.replicated == nil, f.maintenance || f.degradationLevel != .normal || !f.circuitBreaker {
            out.append("degradation_level, maintenance and circuit_breaker need a store (--data-dir or --postgres); in memory they do nothing")
        }
        if rateLimiter == nil, f.rateLimitPrincipalRate != nil || f.rateLimitSessionRate != nil || !f.rateLimits {
            out.append("rate limits were off at start-up (or interceptors disabled); the rate flags do nothing until a restart with limits")
        } else if let r = rateLimiter {
            if r.principals == nil, f.rateLimitPrincipalRate ?? 0 > 0 { out.append("the per-principal limit was off at start-up; rate_limit_principal_rate does nothing until a restart") }
            if r.sessions == nil, f.rateLimitSessionRate ?? 0 > 0 { out.append("the per-session limit was off at start-up; rate_limit_session_rate does nothing until a restart") }
        }
        return out
    }
}
