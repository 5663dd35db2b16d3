import KatoSupport
import Synchronization

/// One token bucket per key (a principal, a session), as GCRA (the generic cell rate
/// algorithm): a bucket is one atomic "theoretical arrival time", and taking a token is one
/// compare-and-swap — no lock, so the event-loop threads never wait for each other (a
/// contended lock costs a futex round trip on Linux). It grants exactly what `TokenBucket`
/// grants: `burst` tokens at once, refilled at `rate` per second, a refused request takes
/// nothing and learns how long until the next token.
///
/// Finding a key's bucket: each thread (`pthread_self`, hashed into `cacheShards`) keeps its own
/// small cache of buckets behind its own `Mutex` (uncontended: one thread per shard unless two
/// hash alike), in front of the table every thread shares, which is locked only on a cache
/// miss (a key's first call on that thread). Keys whose bucket has refilled are forgotten when
/// the table grows past `maxKeys`, so memory stays bounded; if most buckets are busy, arbitrary
/// ones are dropped too (their keys start again with a full bucket). Each eviction bumps a
/// generation that empties the thread caches, so an evicted bucket is not used on.
public final class KeyedRateLimiter: Sendable {
    public let limit: TokenBucket.Limit
    public let maxKeys: Int
    /// Nanoseconds per token (GCRA's emission interval); 0 when the rate is 0 (no refill).
    let interval: Int64
    /// How far the arrival time may run ahead of now: (burst − 1) × interval.
    let tolerance: Int64
    /// The live rate and burst (`reconfigure`, the feature flags): interval and tolerance as
    /// above, and whether tokens are taken at all. Relaxed loads: a call racing a change may
    /// see the old limit, never a torn value.
    private let liveInterval: Atomic<Int64>
    private let liveTolerance: Atomic<Int64>
    private let enabled = Atomic<Bool>(true)
    /// When the limiter was made, on both clocks: bucket times are nanoseconds since then.
    let origin = ContinuousClock.now
    let originNanoseconds = CallClock.now()

    final class Bucket: Sendable {
        /// GCRA's theoretical arrival time in ns since `origin` (rate > 0); with rate 0, the
        /// tokens taken so far.
        let state: Atomic<Int64>
        init(_ value: Int64) { state = Atomic(value) }
    }

    private let table = Mutex<[String: Bucket]>([:])
    private let generation = Atomic<Int>(0)
    private let caches: [Cache]
    static let cacheShards = 16
    static let cacheLimit = 1024

    final class Cache: Sendable {
        struct State {
            var generation = 0
            var buckets: [String: Bucket] = [:]
            /// The key this thread asked for last and its bucket: a client calling again and
            /// again (the usual case) costs a string comparison instead of a hash lookup.
            var lastKey = ""
            var lastBucket: Bucket?
        }
        let state = Mutex(State())
    }

    public init(limit: TokenBucket.Limit, maxKeys: Int = 100_000) {
        self.limit = limit
        self.maxKeys = maxKeys
        if limit.rate > 0 {
            let ns = min(1e9 / limit.rate, Double(Int64.max / 8))
            interval = max(1, Int64(ns.rounded()))
            tolerance = Int64(max(-1e18, min(1e18, (limit.burst - 1) * Double(interval))))
        } else {
            interval = 0
            tolerance = 0
        }
        caches = (0..<Self.cacheShards).map { _ in Cache() }
        liveInterval = Atomic(interval)
        liveTolerance = Atomic(tolerance)
    }

    /// Changes the rate and burst while running; a rate of 0, or nil, stops taking tokens. A
    /// limiter made with rate 0 (a fixed number of tokens) keeps it.
    ///
    /// Buckets keep the tokens they have in use, not their arrival time: a bucket's time ahead
    /// of now is its debt in tokens × the interval, so each is rescaled to the new interval.
    /// Kept as a time, a bucket drained at a slow rate would stay blocked for up to a slow
    /// interval after a switch back to a fast one.
    public func reconfigure(_ limit: TokenBucket.Limit?) {
        reconfigure(limit, at: CallClock.now())
    }

    func reconfigure(_ limit: TokenBucket.Limit?, at callClockNanoseconds: Int64) {
        guard interval != 0 else { return }
        guard let limit, limit.rate > 0 else {
            enabled.store(false, ordering: .relaxed)
            return
        }
        let ns = max(1, Int64(min(1e9 / limit.rate, Double(Int64.max / 8)).rounded()))
        let previous = liveInterval.exchange(ns, ordering: .relaxed)
        liveTolerance.store(Int64(max(-1e18, min(1e18, (max(1, limit.burst) - 1) * Double(ns)))), ordering: .relaxed)
        enabled.store(true, ordering: .relaxed)
        guard previous != ns else { return }
        let t = callClockNanoseconds &- originNanoseconds
        let scale = Double(ns) / Double(previous)
        table.withLock { table in
            for bucket in table.values {
                var tat = bucket.state.load(ordering: .relaxed)
                while tat > t {
                    let rescaled = t + Int64(min(Double(tat - t) * scale, Double(Int64.max / 4)).rounded())
                    let (exchanged, original) = bucket.state.compareExchange(
                        expected: tat, desired: rescaled, ordering: .relaxed)
                    if exchanged { break }
                    tat = original
                }
            }
        }
    }

    /// Takes a token from `key`'s bucket: nil when granted, else the time to wait.
    ///
    /// For callers with `ContinuousClock` instants (tests, tools). Both overloads count from
    /// the limiter's creation, each on its own clock, so they agree unless the host was
    /// suspended since (`ContinuousClock` counts that time, `CallClock` does not): do not use
    /// both on one limiter. The server uses `acquire(_:at:)` only.
    public func acquire(_ key: String, now: ContinuousClock.Instant) -> Duration? {
        acquire(key, t: nanoseconds(now))
    }

    /// `acquire` at `CallClock.now()` (or a reading of it the caller already took): the
    /// per-call path, without `ContinuousClock`'s `Duration` arithmetic.
    func acquire(_ key: String, at callClockNanoseconds: Int64 = CallClock.now()) -> Duration? {
        acquire(key, t: callClockNanoseconds &- originNanoseconds)
    }

    private func acquire(_ key: String, t: Int64) -> Duration? {
        guard enabled.load(ordering: .relaxed) else { return nil }
        let wait = take(bucket(key, at: t), at: t)
        return wait.map { .nanoseconds($0) }
    }

    /// Number of keys with a bucket.
    public var keyCount: Int { table.withLock { $0.count } }

    /// GCRA: nil when granted, else nanoseconds until a token is available.
    private func take(_ bucket: Bucket, at t: Int64) -> Int64? {
        if interval == 0 {
            // No refill: `burst` tokens in all (a fractional burst rounds down, as in TokenBucket).
            let taken = bucket.state.wrappingAdd(1, ordering: .relaxed).oldValue
            guard Double(taken) <= limit.burst - 1 else {
                bucket.state.wrappingSubtract(1, ordering: .relaxed)
                return 3_600_000_000_000
            }
            return nil
        }
        let emission = liveInterval.load(ordering: .relaxed)
        let allowance = liveTolerance.load(ordering: .relaxed)
        var tat = bucket.state.load(ordering: .relaxed)
        while true {
            let base = max(tat, t)
            let ahead = base - t
            if ahead > allowance { return ahead - allowance }
            let (exchanged, original) = bucket.state.compareExchange(
                expected: tat, desired: base + emission, ordering: .relaxed)
            if exchanged { return nil }
            tat = original
        }
    }

    private func isFull(_ bucket: Bucket, at t: Int64) -> Bool {
        let value = bucket.state.load(ordering: .relaxed)
        return interval == 0 ? value == 0 : value <= t
    }

    private func bucket(_ key: String, at t: Int64) -> Bucket {
        let cache = caches[ThreadShard.index(count: caches.count)]
        let current = generation.load(ordering: .acquiring)
        if let hit = cache.state.withLock({ c -> Bucket? in
            if c.generation != current {
                c.generation = current
                c.buckets.removeAll(keepingCapacity: true)
                c.lastBucket = nil
                return nil
            }
            if let last = c.lastBucket, c.lastKey == key { return last }
            guard let found = c.buckets[key] else { return nil }
            c.lastKey = key
            c.lastBucket = found
            return found
        }) {
            return hit
        }
        let bucket = table.withLock { table -> Bucket in
            if let existing = table[key] { return existing }
            let created = Bucket(interval == 0 ? 0 : t)
            table[key] = created
            if table.count > maxKeys {
                evict(&table, at: t, keep: maxKeys / 2, except: key)
                generation.wrappingAdd(1, ordering: .releasing)
            }
            return created
        }
        cache.state.withLock { c in
            guard c.generation == generation.load(ordering: .acquiring) else { return }
            if c.buckets.count >= Self.cacheLimit { c.buckets.removeAll(keepingCapacity: true) }
            c.buckets[key] = bucket
            c.lastKey = key
            c.lastBucket = bucket
        }
        return bucket
    }

    /// Drops idle (full) buckets, then arbitrary ones while more than `keep * 2` remain;
    /// never `except` (the key being served).
    private func evict(_ table: inout [String: Bucket], at t: Int64, keep: Int, except: String) {
        for key in Array(table.keys) where key != except && isFull(table[key]!, at: t) {
            table.removeValue(forKey: key)
        }
        if table.count > keep * 2 {
            for key in Array(table.keys.filter { $0 != except }.prefix(table.count - keep)) {
                table.removeValue(forKey: key)
            }
        }
    }

    private func nanoseconds(_ now: ContinuousClock.Instant) -> Int64 {
        let d = now - origin
        let (seconds, attoseconds) = d.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

}
