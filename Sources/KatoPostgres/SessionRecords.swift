// The values a session-store call reads and writes (PostgresSessionStore's vocabulary).

/// One session as stored in `kato_sessions` (schema version 2). The state and metadata are
/// opaque bytes here: KatoServer encodes them (the engine's `SessionState`, the protobuf Struct).
public struct SessionRow: Sendable {
    public var id: String
    public var nodeID: String
    public var isDefault: Bool
    public var owner: String?
    /// Seconds since 1970.
    public var createdAt: Double
    public var metadata: [UInt8]
    public var state: [UInt8]
    public var ttlMilliseconds: Int64
    /// Prediction updates counted so far (subscription sequence numbers continue from it).
    public var sequence: Int64
    /// A subscriber somewhere wants the session's updates in its log (`log_until` ahead).
    public var logging: Bool

    public init(id: String, nodeID: String, isDefault: Bool, owner: String?, createdAt: Double,
                metadata: [UInt8], state: [UInt8], ttlMilliseconds: Int64, sequence: Int64, logging: Bool = false) {
        self.id = id
        self.nodeID = nodeID
        self.isDefault = isDefault
        self.owner = owner
        self.createdAt = createdAt
        self.metadata = metadata
        self.state = state
        self.ttlMilliseconds = ttlMilliseconds
        self.sequence = sequence
        self.logging = logging
    }
}

/// What a locked lookup found.
public enum SessionLookup: Sendable {
    case found(SessionRow)
    case missing
    /// Expired (now, or recently enough to be remembered).
    case expired
}

/// What a call does to the session it held, when it succeeded.
public struct SessionWriteBack: Sendable {
    public enum Change: Sendable {
        /// The state after the call (the expiry slides to now + TTL, PostgreSQL's clock).
        case update(state: [UInt8], ttlMilliseconds: Int64, sequence: Int64)
        /// State unchanged: only the expiry slides.
        case touch
        case delete
    }

    public var change: Change
    /// The call's PredictionUpdates (sequence, protobuf), appended to the session's log.
    public var updates: [(sequence: Int64, update: [UInt8])]
    /// A subscriber here: keep logging the session's updates (`log_until` = now + 2 minutes).
    public var subscribing: Bool

    public init(_ change: Change, updates: [(sequence: Int64, update: [UInt8])] = [], subscribing: Bool = false) {
        self.change = change
        self.updates = updates
        self.subscribing = subscribing
    }
}

/// What a subscriber's replica reads to catch up with a session: the updates after a sequence
/// still in the log, the session's sequence now and its state (for a gap marker).
public struct SessionUpdates: Sendable {
    public var sequence: Int64
    public var state: [UInt8]
    public var updates: [(sequence: Int64, update: [UInt8])]
}

