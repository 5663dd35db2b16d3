/// The circuit breaker in front of the store (closed → open → half-open → closed), as a pure
/// state machine: callers pass the current instant, so tests drive time by hand.
///
/// - closed: calls go through; `failureThreshold` consecutive failures open the circuit.
/// - open: calls are refused until `resetTimeout` has passed since it opened.
/// - half-open: one probe call goes through; success closes the circuit, failure re-opens it.
///
/// Thresholds follow KATO's plan: 5 failures, 30 seconds.
public struct CircuitBreaker: Sendable {
    /// The breaker's externally visible state; raw values are the exported metric values.
    public enum State: Int, Sendable, Hashable, CustomStringConvertible {
        case closed = 0
        case open = 1
        case halfOpen = 2

        public var description: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures that open the circuit (KATO: 5).
        public var failureThreshold: Int
        /// How long the circuit stays open before one probe is let through (KATO: 30 s).
        public var resetTimeout: Duration

        /// KATO's numbers: 5 failures, 30 s.
        public static let defaults = Configuration(failureThreshold: 5, resetTimeout: .seconds(30))

        public init(failureThreshold: Int, resetTimeout: Duration) {
            self.failureThreshold = failureThreshold
            self.resetTimeout = resetTimeout
        }
    }

    public let configuration: Configuration
    private(set) var stored: State = .closed
    private(set) var consecutiveFailures = 0
    private(set) var openedAt: ContinuousClock.Instant?
    private(set) var probeInFlight = false
    /// The last failure, for the DEGRADED window.
    public private(set) var lastFailure: ContinuousClock.Instant?

    public init(configuration: Configuration = .defaults) {
        self.configuration = configuration
    }

    /// The state at `now` (an open circuit whose timeout passed reads as half-open).
    public func state(at now: ContinuousClock.Instant) -> State {
        if stored == .open, let openedAt, now - openedAt >= configuration.resetTimeout { return .halfOpen }
        return stored
    }

    /// Asks to make one call at `now`: true when it may go through (in half-open, only one probe).
    public mutating func allowRequest(at now: ContinuousClock.Instant) -> Bool {
        switch state(at: now) {
        case .closed:
            return true
        case .open:
            return false
        case .halfOpen:
            stored = .halfOpen
            if probeInFlight { return false }
            probeInFlight = true
            return true
        }
    }

    /// Records a successful call.
    public mutating func recordSuccess() {
        stored = .closed
        consecutiveFailures = 0
        openedAt = nil
        probeInFlight = false
    }

    /// Records a failed call at `now`.
    public mutating func recordFailure(at now: ContinuousClock.Instant) {
        lastFailure = now
        switch stored {
        case .halfOpen, .open:
            trip(at: now)
        case .closed:
            consecutiveFailures += 1
            if consecutiveFailures >= configuration.failureThreshold { trip(at: now) }
        }
    }

    private mutating func trip(at now: ContinuousClock.Instant) {
        stored = .open
        openedAt = now
        probeInFlight = false
    }
}
