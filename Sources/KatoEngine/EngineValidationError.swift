/// A request the engine refuses: an out-of-range gene or an invalid observation.
///
/// `field` names the offending parameter the way the wire format spells it
/// (e.g. `recall_threshold`, `strings[3]`, `vectors[1][0]`, `emotives.joy`).
public struct EngineValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending field.
    public var field: String
    /// What is wrong with it.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// Thrown when a cooperative cancellation check asks the engine to stop; no state was changed.
public struct EngineCancelledError: Error, Sendable, Hashable {
    public init() {}
}
