import Synchronization

/// One token bucket per key (a principal, a session). Keys whose bucket has refilled are
/// forgotten when the table grows past `maxKeys`, so memory stays bounded; if most buckets are
/// busy, arbitrary ones are dropped too (their keys start again with a full bucket).
public final class KeyedRateLimiter: Sendable {
    public let limit: TokenBucket.Limit
    public let maxKeys: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init(limit: TokenBucket.Limit, maxKeys: Int = 100_000) {
        self.limit = limit
        self.maxKeys = maxKeys
    }

    /// Takes a token from `key`'s bucket: nil when granted, else the time to wait.
    public func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        let limit = self.limit
        let maxKeys = self.maxKeys
        return buckets.withLock { table in
            if let wait = table[key, default: TokenBucket(limit: limit, now: now)].take(now: now) { return wait }
            if table.count > maxKeys { Self.evict(&table, now: now, keep: maxKeys / 2) }
            return nil
        }
    }

    /// Number of keys with a bucket.
    public var keyCount: Int { buckets.withLock { $0.count } }

    private static func evict(_ table: inout [String: TokenBucket], now: ContinuousClock.Instant, keep: Int) {
        for key in Array(table.keys) where table[key]!.isFull(now: now) {
            table.removeValue(forKey: key)
        }
        if table.count > keep * 2 {
            for key in table.keys.prefix(table.count - keep) { table.removeValue(forKey: key) }
        }
    }
}
