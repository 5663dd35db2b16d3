/// A token bucket: holds up to `burst` tokens, refills at `rate` tokens per second, and each
/// request takes one. Pure value type: the caller passes the time, so tests need no clock.
public struct TokenBucket: Sendable, Hashable {
    public struct Limit: Sendable, Hashable {
        /// Tokens added per second.
        public var rate: Double
        /// Most tokens the bucket holds (the largest burst).
        public var burst: Double

        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }

        /// `requests` per minute, all of which may come at once (KATO's "60 requests/min").
        public static func perMinute(_ requests: Double) -> Limit {
            Limit(rate: requests / 60, burst: requests)
        }
    }

    public let limit: Limit
    public private(set) var tokens: Double
    private var updated: ContinuousClock.Instant

    /// A full bucket.
    public init(limit: Limit, now: ContinuousClock.Instant) {
        self.limit = limit
        self.tokens = limit.burst
        self.updated = now
    }

    /// Takes one token. Returns nil when granted, else how long until a token is available
    /// (nothing is taken then: a refused request costs nothing, so no backlog builds up).
    public mutating func take(now: ContinuousClock.Instant) -> Duration? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard limit.rate > 0 else { return .seconds(3600) }
        return .seconds((1 - tokens) / limit.rate)
    }

    /// Whether the bucket is full at `now` (an idle key that can be forgotten).
    public mutating func isFull(now: ContinuousClock.Instant) -> Bool {
        refill(now: now)
        return tokens >= limit.burst
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(limit.burst, tokens + seconds * limit.rate)
        updated = now
    }
}
