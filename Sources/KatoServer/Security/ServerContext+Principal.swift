import GRPCH2

enum PrincipalKey: AttributeKey {
    typealias Value = Principal
}

enum SessionRateLimiterKey: AttributeKey {
    typealias Value = KeyedRateLimiter
}

extension ServerContext {
    /// Who is calling; nil when authentication is off (or for open services such as health).
    /// Kept in the call's `CallRecord` when there is one (no attribute of its own).
    public var principal: Principal? {
        if let record = callRecord { return record.principalValue }
        return attributes[PrincipalKey.self]
    }

    /// The per-session limiter the rate-limit interceptor attached (nil: no session limit).
    var sessionRateLimiter: KeyedRateLimiter? { attributes[SessionRateLimiterKey.self] }
}
