/// Retries of a store operation that failed with a transient error (busy/locked): exponential
/// backoff with full jitter, bounded by `maxAttempts`. Non-transient errors are never retried.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included.
    public var maxAttempts: Int
    /// Backoff before the second attempt; doubles each time up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    /// 3 attempts, 10 ms then 20 ms (capped at 200 ms).
    public static let defaults = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(200))

    public init(maxAttempts: Int, initialBackoff: Duration, maxBackoff: Duration) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The pause before attempt `attempt + 1` (attempt counts from 1), with full jitter.
    func backoff(after attempt: Int) -> Duration {
        var d = initialBackoff
        for _ in 1..<max(attempt, 1) { d = min(d * 2, maxBackoff) }
        let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
        return .nanoseconds(Int64(ns * Double.random(in: 0.5...1.0)))
    }

    /// Runs `body` until it succeeds, fails with a non-transient error, or attempts run out;
    /// `onRetry` hears of every retry. Blocking (used on the store's writer thread).
    func run<R>(_ body: () throws(StoreError) -> R, onRetry: (StoreError) -> Void = { _ in }) throws(StoreError) -> R {
        var attempt = 1
        while true {
            do {
                return try body()
            } catch {
                guard error.isTransient, attempt < maxAttempts else { throw error }
                onRetry(error)
                Self.sleep(backoff(after: attempt))
                attempt += 1
            }
        }
    }

    static func sleep(_ d: Duration) {
        let ns = d.nanoseconds
        var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        nanosleep(&ts, nil)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
