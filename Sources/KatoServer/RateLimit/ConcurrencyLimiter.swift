import Synchronization

/// Caps the calls running at once. A call over the cap is refused at once (never queued).
public final class ConcurrencyLimiter: Sendable {
    public let limit: Int
    private let running = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Admits one call; false when `limit` calls already run. Pair a true with `leave()`.
    public func enter() -> Bool {
        let now = running.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            running.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    public func leave() {
        running.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Calls running now.
    public var current: Int { running.load(ordering: .relaxed) }
}
