import Metrics

/// The store's health as the rest of the server reads it: the circuit breaker, the degradation
/// level and counters. `Sendable`; cheap to read from any thread (metrics, health, handlers).
public final class StoreStatus: Sendable {
    /// A consistent reading of the status.
    public struct Snapshot: Sendable, Hashable {
        public var breaker: CircuitBreaker.State
        public var level: DegradationLevel
        /// Why the level is MAINTENANCE, if it is.
        public var maintenanceReason: String?
        public var batchesCommitted: Int
        public var learnsAcknowledged: Int
        public var failedBatches: Int
        public var retries: Int
        public var lastError: String?
    }

    private struct State {
        var breaker: CircuitBreaker
        var maintenance: [String: String] = [:]
        var batchesCommitted = 0
        var learnsAcknowledged = 0
        var failedBatches = 0
        var retries = 0
        var lastError: String?
        /// Operator overrides (feature flags): the lowest level reported, and the breaker switch.
        var minimumLevel: DegradationLevel = .normal
        var breakerEnabled = true
    }

    private let state: Locked<State>
    private let metrics = StoreMetrics()

    public init(breaker: CircuitBreaker.Configuration = .defaults) {
        state = Locked(State(breaker: CircuitBreaker(configuration: breaker)))
    }

    /// The status now.
    public func snapshot(at now: ContinuousClock.Instant = .now) -> Snapshot {
        state.withLock { s in
            // Switched off, the breaker lets every write through and reports closed; its
            // failures are still counted, so switching it back on applies its real state.
            let breaker = s.breakerEnabled ? s.breaker.state(at: now) : .closed
            var level: DegradationLevel
            if !s.maintenance.isEmpty {
                level = .maintenance
            } else {
                switch breaker {
                case .open: level = .essential
                case .halfOpen: level = .degraded
                case .closed:
                    let recent = s.breaker.lastFailure.map { now - $0 < s.breaker.configuration.resetTimeout } ?? false
                    level = recent ? .degraded : .normal
                }
            }
            level = max(level, s.minimumLevel)
            return Snapshot(
                breaker: breaker, level: level, maintenanceReason: s.maintenance.values.sorted().first,
                batchesCommitted: s.batchesCommitted, learnsAcknowledged: s.learnsAcknowledged,
                failedBatches: s.failedBatches, retries: s.retries, lastError: s.lastError)
        }
    }

    /// The degradation level now.
    public var level: DegradationLevel { snapshot().level }

    /// The breaker state now (`kato_circuit_breaker_state`: 0 closed, 1 open, 2 half-open).
    public var breakerState: CircuitBreaker.State { snapshot().breaker }

    package func allowRequest(at now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { !$0.breakerEnabled || $0.breaker.allowRequest(at: now) }
    }

    /// Operator overrides (kato-server's feature flags): a level below which the status never
    /// goes (`.normal`: none), MAINTENANCE with `maintenanceReason` (nil: none), and whether the
    /// circuit breaker may refuse writes.
    public func setOverrides(minimumLevel: DegradationLevel, maintenanceReason: String?, breakerEnabled: Bool) {
        state.withLock { s in
            s.minimumLevel = minimumLevel
            s.maintenance["operator"] = maintenanceReason
            s.breakerEnabled = breakerEnabled
        }
    }

    package func recordSuccess(learns: Int, duration: Duration = .zero) {
        state.withLock { s in
            s.breaker.recordSuccess()
            s.batchesCommitted += 1
            s.learnsAcknowledged += learns
        }
        metrics.commits.increment()
        metrics.learnsAcknowledged.increment(by: learns)
        metrics.commitSeconds.recordNanoseconds(duration.nanoseconds)
    }

    /// An operation reached the store but committed no write (a read, a session call, a write
    /// that changed nothing): a success for the breaker like a commit — it ends an open or
    /// half-open breaker's probe and, closed, resets the consecutive-failure count — but counts
    /// no commit. The breaker is shared by the knowledge-base and the session pools: were such
    /// successes ignored while closed, one pool reconnecting late after an outage would add up
    /// scattered failures between the other pool's successes and reopen the breaker for both.
    package func recordReachable() {
        state.withLock { s in s.breaker.recordSuccess() }
    }

    package func recordFailure(_ error: StoreError, at now: ContinuousClock.Instant = .now) {
        state.withLock { s in
            s.breaker.recordFailure(at: now)
            s.failedBatches += 1
            s.lastError = error.description
        }
        metrics.writeFailures.increment()
    }

    func recordRetry() {
        state.withLock { $0.retries += 1 }
        metrics.retries.increment()
    }

    /// Enters (reason non-nil) or leaves MAINTENANCE for `key`.
    func setMaintenance(_ key: String, _ reason: String?) {
        state.withLock { s in s.maintenance[key] = reason }
    }
}
