import Foundation
import KatoEngine
import KatoProto
import KatoSupport
import ProtobufCBridge
import Synchronization

/// All live sessions: creation with limits, lookup with sliding expiry, deletion, the
/// default session of each node, and the periodic cleanup of expired sessions.
public final class SessionRegistry: Sendable {
    public struct Configuration: Sendable {
        /// TTL of a session created without one (KATO: 3600 s).
        public var defaultTTL: Duration = .seconds(3600)
        /// Longest TTL a client may ask for.
        public var maxTTL: Duration = .seconds(30 * 86400)
        /// Sessions in total (KATO's plan: 100,000).
        public var maxSessions: Int = 100_000
        /// STM safety limit per session (KATO's max_stm_size).
        public var maxSTMEvents: Int = 1000
        /// Updates a slow subscriber may lag behind before the oldest are dropped.
        public var maxSubscriberBacklog: Int = 64
        /// How often expired sessions are removed.
        public var cleanupInterval: Duration = .seconds(10)
        /// Node id of calls that name neither a session nor a node.
        public var defaultNodeID: String = "default"
        public init() {}
    }

    public let configuration: Configuration
    public let nodes: NodeRegistry
    /// Sessions shared with other replicas (`--postgres`); nil: sessions live here only. With
    /// it, `state` holds only the sessions calls are using now and those with subscribers
    /// (SessionRegistry+Shared.swift).
    let shared: (any SharedSessionStore)?
    /// One gate per session id in use (shared sessions): this replica's calls of a session
    /// queue here rather than each holding a connection while waiting for the row lock.
    let gates = KeyedGates()
    /// Shared sessions: the live sessions in PostgreSQL at the last count (every
    /// `sharedCountInterval`), which `count(nodeID: nil)` (health, `kato_sessions_active`) reads.
    let sharedCount = Atomic<Int>(0)
    /// Sessions a predecessor announced that have not arrived yet (a restart by hand-over).
    let pending = PendingSessions()
    static let sharedCountInterval: Duration = .seconds(5)

    struct State {
        var sessions: [String: Session] = [:]
        var defaults: [String: Session] = [:]
        /// Recently expired ids, so a late caller hears SESSION_EXPIRED rather than NOT_FOUND.
        var expired: Set<String> = []
        var expiredOrder: [String] = []
    }

    let state = Mutex(State())

    public init(configuration: Configuration = .init(), nodes: NodeRegistry = NodeRegistry(), shared: (any SharedSessionStore)? = nil) {
        self.configuration = configuration
        self.nodes = nodes
        self.shared = shared
    }

    var limits: Session.Limits {
        .init(maxSTMEvents: configuration.maxSTMEvents, maxSubscriberBacklog: configuration.maxSubscriberBacklog)
    }

    public func create(
        nodeID: String, ttlSeconds: Int64, config: ConfigUpdate, metadata: Google_Protobuf_Struct, owner: String? = nil
    ) throws(KatoError) -> Session {
        var violations: [KatoError.FieldViolation] = []
        if nodeID.isEmpty { violations.append(.init(field: "node_id", description: "is required")) }
        if nodeID.utf8.count > 256 { violations.append(.init(field: "node_id", description: "at most 256 bytes")) }
        if ttlSeconds < 0 || ttlSeconds > configuration.maxTTL.components.seconds {
            violations.append(.init(field: "ttl_seconds", description: "must be 0 (default) or 1...\(configuration.maxTTL.components.seconds)"))
        }
        if !violations.isEmpty { throw .validation(violations) }
        let engineState: SessionState
        do {
            engineState = try SessionState(config: EngineConfig.defaults.applying(config))
        } catch {
            throw .invalid("config." + error.field, error.reason)
        }
        let ttl = ttlSeconds == 0 ? configuration.defaultTTL : .seconds(ttlSeconds)
        let session = Session(
            id: Self.newSessionID(), nodeID: nodeID, isDefault: false, engine: nodes.engine(for: nodeID),
            engineState: engineState, ttl: ttl, metadata: metadata, limits: limits, owner: owner,
            // Shared sessions: PostgreSQL keeps microseconds, and every replica answers the same.
            createdAt: shared == nil ? Date() : Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1e6).rounded() / 1e6))
        let limit = configuration.maxSessions
        if shared != nil { return session }  // stored by `storeCreated`, not kept here
        let arriving = pending.count  // sessions still being handed over count too
        let admitted = state.withLock { s -> Bool in
            guard s.sessions.count + arriving < limit else { return false }
            s.sessions[session.id] = session
            return true
        }
        guard admitted else { throw .tooManySessions(limit: limit) }
        return session
    }

    /// The session with this id; refreshes its expiry.
    public func session(id: String) throws(KatoError) -> Session {
        let now = ContinuousClock.now
        let found = state.withLock { s -> Session? in s.sessions[id] }
        guard let found else {
            throw state.withLock { $0.expired.contains(id) } ? .sessionExpired(id) : .sessionNotFound(id)
        }
        if found.isExpired(at: now) {
            expire([found])
            throw .sessionExpired(id)
        }
        found.touch()
        return found
    }

    /// `session_id`, or the default session of `node_id` (or of the default node) when empty.
    public func resolve(sessionID: String, nodeID: String) throws(KatoError) -> Session {
        if !sessionID.isEmpty { return try session(id: sessionID) }
        let node = nodeID.isEmpty ? configuration.defaultNodeID : nodeID
        if node.utf8.count > 256 { throw .invalid("node_id", "at most 256 bytes") }
        let engine = nodes.engine(for: node)
        let limits = self.limits
        return state.withLock { s in
            if let existing = s.defaults[node] { return existing }
            let session = Session(
                id: "default:" + node, nodeID: node, isDefault: true, engine: engine,
                engineState: try! SessionState(), ttl: .seconds(0), metadata: Google_Protobuf_Struct(), limits: limits)
            s.defaults[node] = session
            return session
        }
    }

    public func delete(id: String) throws(KatoError) {
        let removed = state.withLock { $0.sessions.removeValue(forKey: id) }
        guard let removed else { throw .sessionNotFound(id) }
        removed.end(.sessionEnded(id))
    }

    public func count(nodeID: String?) -> Int {
        if shared != nil && nodeID == nil { return sharedCount.load(ordering: .relaxed) }
        let now = ContinuousClock.now
        return state.withLock { s in
            s.sessions.values.filter { ($0.nodeID == nodeID || nodeID == nil) && !$0.isExpired(at: now) }.count
        } + (nodeID == nil ? pending.count : 0)
    }

    /// Removes every expired session (ending its subscriptions); returns how many.
    @discardableResult
    public func removeExpired() -> Int {
        let now = ContinuousClock.now
        let expiredSessions = state.withLock { s in s.sessions.values.filter { $0.isExpired(at: now) } }
        expire(expiredSessions)
        return expiredSessions.count
    }

    private func expire(_ sessions: [Session]) {
        guard !sessions.isEmpty else { return }
        state.withLock { s in
            for session in sessions where s.sessions.removeValue(forKey: session.id) != nil {
                s.expired.insert(session.id)
                s.expiredOrder.append(session.id)
            }
            if s.expiredOrder.count > 100_000 {
                let drop = s.expiredOrder.prefix(s.expiredOrder.count - 100_000)
                for id in drop { s.expired.remove(id) }
                s.expiredOrder.removeFirst(drop.count)
            }
        }
        for session in sessions { session.end(.sessionExpired(session.id)) }
    }

    /// Runs cleanup until the task is cancelled.
    public func runCleanup() async {
        if let shared {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.followSubscriptions(shared) }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.configuration.cleanupInterval)
                        _ = try? await shared.removeExpired()
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        if let n = try? await shared.count(nodeID: nil) { self.sharedCount.store(n, ordering: .relaxed) }
                        try? await Task.sleep(for: Self.sharedCountInterval)
                    }
                }
            }
            return
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.cleanupInterval)
            removeExpired()
        }
    }

    /// `session-<32 hex>-<epoch ms>`, as KATO forms session ids.
    static func newSessionID() -> String {
        var rng = SystemRandomNumberGenerator()
        let millis = Int64(Date().timeIntervalSince1970 * 1000)
        return "session-" + UniqueIDs.hex(rng.next()) + UniqueIDs.hex(rng.next()) + "-\(millis)"
    }
}
