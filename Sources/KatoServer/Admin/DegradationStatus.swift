/// How much of the service works, as health and the `kato_degradation_level` gauge report it.
///
/// The levels follow KATO's degradation plan: 0 NORMAL, 1 DEGRADED, 2 ESSENTIAL,
/// 3 MAINTENANCE (only health is served; `/health/ready` answers 503).
public struct DegradationStatus: Sendable, Hashable {
    public var level: Int
    public var name: String
    /// Named checks and their state (e.g. `"store": "ok"`, `"circuit_breaker": "closed"`).
    public var checks: [String: String]

    public init(level: Int, name: String, checks: [String: String] = [:]) {
        self.level = level
        self.name = name
        self.checks = checks
    }

    public static let normal = DegradationStatus(level: 0, name: "NORMAL")

    /// Whether calls are served (anything below MAINTENANCE).
    public var isReady: Bool { level < 3 }
}

/// Tells the server its current degradation status. The durable store conforms its status
/// object to this; until one is wired in, `FixedDegradationStatus` reports NORMAL.
public protocol DegradationStatusProvider: Sendable {
    var degradationStatus: DegradationStatus { get }
}

/// A placeholder provider: always the same status (NORMAL unless told otherwise), with a
/// `store: "not wired"` check so that health output says it is a placeholder.
public struct FixedDegradationStatus: DegradationStatusProvider {
    public var degradationStatus: DegradationStatus

    public init(_ status: DegradationStatus = DegradationStatus(level: 0, name: "NORMAL", checks: ["store": "not wired (placeholder)"])) {
        degradationStatus = status
    }
}
