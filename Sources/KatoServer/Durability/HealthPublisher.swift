import GRPCH2
import KatoProto
import KatoStore
import Logging
import Synchronization

/// Mirrors the store's degradation level into gRPC health, polling it (open → half-open and the
/// DEGRADED window are time-based):
///
/// | level | NOT_SERVING |
/// |---|---|
/// | NORMAL, DEGRADED | none (every method answers; DEGRADED only skips auto-learn and refuses emotives) |
/// | ESSENTIAL | `kato.v2.ObserveService` (its Learn and ClearAllMemory are refused) |
/// | MAINTENANCE | every kato.v2 service and the server ("") |
final class HealthPublisher: Sendable {
    let status: StoreStatus
    let health: HealthService
    let services: [String]
    let logger: Logger
    private let state = Mutex<(stopped: Bool, last: DegradationLevel?)>((false, nil))

    init(status: StoreStatus, health: HealthService, services: [String], logger: Logger) {
        self.status = status
        self.health = health
        self.services = services
        self.logger = logger
    }

    /// The status of `service` at `level`.
    static func status(of service: String, at level: DegradationLevel) -> HealthService.Status {
        switch level {
        case .normal, .degraded: return .serving
        case .essential: return service == Kato_V2_ObserveService.serviceName ? .notServing : .serving
        case .maintenance: return service.hasPrefix("kato.v2.") || service.isEmpty ? .notServing : .serving
        }
    }

    /// Publishes the current level now.
    func publish() {
        let snapshot = status.snapshot()
        let changed = state.withLock { s -> DegradationLevel?? in
            guard !s.stopped, s.last != snapshot.level else { return .none }
            defer { s.last = snapshot.level }
            return .some(s.last)
        }
        guard case .some(let previous) = changed else { return }
        if previous != nil {
            logger.warning("degradation level changed", metadata: [
                "level": "\(snapshot.level)", "previous": "\(previous.map { "\($0)" } ?? "-")",
                "circuit_breaker": "\(snapshot.breaker)", "last_error": "\(snapshot.lastError ?? "-")",
            ])
        }
        for name in services + [""] { health.setStatus(Self.status(of: name, at: snapshot.level), forService: name) }
    }

    /// Polls until `stop()`.
    func run(every interval: Duration = .milliseconds(100)) async {
        while !state.withLock({ $0.stopped }) {
            publish()
            try? await Task.sleep(for: interval)
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }
}
