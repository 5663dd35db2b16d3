/// The server's limits. The defaults are far above what one process serves (our tests and
/// benchmarks never meet them), so they only stop runaway clients; a deployment sets its own,
/// e.g. KATO's 60 requests/min per session (`docs/samples/ratelimit-kato-spec.json`).
public struct RateLimitConfiguration: Sendable, Hashable {
    /// Per principal (`anonymous` when authentication is off); every request message counts.
    public var perPrincipal: TokenBucket.Limit? = TokenBucket.Limit(rate: 1_000_000, burst: 1_000_000)
    /// Per session (a node's default session is one session); every request that names it counts.
    public var perSession: TokenBucket.Limit? = TokenBucket.Limit(rate: 100_000, burst: 100_000)
    /// Calls running at once, streams included; 0 means no limit.
    public var maxConcurrentCalls: Int = 10_000
    /// `RetryInfo` / `grpc-retry-pushback-ms` sent when the concurrency limit refuses a call.
    public var overloadRetryAfter: Duration = .milliseconds(100)

    public init() {}

    /// No limit at all.
    public static let unlimited: RateLimitConfiguration = {
        var c = RateLimitConfiguration()
        c.perPrincipal = nil
        c.perSession = nil
        c.maxConcurrentCalls = 0
        return c
    }()
}
