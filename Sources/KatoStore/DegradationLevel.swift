/// How much of the service works, from the store's health (KATO's degradation plan). Raw values
/// are the `kato_degradation_level` gauge.
///
/// | level | when | what is off |
/// |---|---|---|
/// | normal (0) | breaker closed, no failure within the breaker's reset timeout | nothing |
/// | degraded (1) | a recent store failure, or the breaker half-open | auto-learn (skipped, reported), emotives (refused) |
/// | essential (2) | breaker open | + every knowledge-base write (Learn, ClearAllMemory, learning sequences): observe, predictions and vector search run from memory |
/// | maintenance (3) | the store is unusable (corrupt database, memory not reconciled with disk) | everything but health |
public enum DegradationLevel: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    case normal = 0
    case degraded = 1
    case essential = 2
    case maintenance = 3

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .normal: "NORMAL"
        case .degraded: "DEGRADED"
        case .essential: "ESSENTIAL"
        case .maintenance: "MAINTENANCE"
        }
    }

    /// Whether auto-learn runs.
    public var allowsAutoLearn: Bool { self == .normal }
    /// Whether observations may carry emotives.
    public var allowsEmotives: Bool { self == .normal }
    /// Whether explicit knowledge-base writes run.
    public var allowsWrites: Bool { self <= .degraded }
    /// Whether anything but health is served.
    public var servesCalls: Bool { self < .maintenance }
}
