import Foundation
import GRPCH2
import KatoEngine
import KatoPostgres
import KatoProto
import KatoStore
import ProtobufCBridge
import Synchronization

/// Sessions shared by replicas (docs/SCALING.md). A call on a session runs inside
/// ``lease(sessionID:nodeID:_:_:)``: the session is loaded from the shared store under its row
/// lock (a call on another replica waits), installed here as a ``Session`` so the handler's
/// usual code finds it, and written back — state, sequence, sliding expiry — before the call
/// answers. Nothing is cached between calls: each call loads the state, so no replica ever
/// answers from a stale copy. A session stays installed after its call only while it has
/// subscribers here.
extension SessionRegistry {
    /// Runs a call's `body` with the session `sessionID` (empty: the default session of
    /// `nodeID`) current on this replica. Without a shared store it just runs `body`.
    /// `defaultSession`: false for calls that need an explicit id (an empty one is refused by `body`).
    /// `speculative`: the call may run on this replica's last copy of the session and commit on
    /// condition it is still current (`PostgresSessionStore.speculate`): only calls whose work
    /// has no effect outside the session but its state, so they may run more than once.
    func lease<R>(
        sessionID: String, nodeID: String = "", defaultSession: Bool = true, speculative: Bool = false,
        _ context: ServerContext, _ body: () async throws -> R
    ) async throws -> R {
        if pending.isActive, !(sessionID.isEmpty && !defaultSession) {
            // A restart by hand-over: the session may still be on its way (PendingSessions).
            let id = sessionID.isEmpty ? "default:" + (nodeID.isEmpty ? configuration.defaultNodeID : nodeID) : sessionID
            do {
                try await pending.wait(for: id, deadline: context.deadline)
            } catch {
                throw CallSupport.mapped(error)
            }
        }
        guard let shared else { return try await body() }
        if sessionID.isEmpty && !defaultSession { return try await body() }
        let node = nodeID.isEmpty ? configuration.defaultNodeID : nodeID
        if sessionID.isEmpty && node.utf8.count > 256 { return try await body() }  // refused by `body`
        let id = sessionID.isEmpty ? "default:" + node : sessionID
        do {
            let creating = sessionID.isEmpty ? try defaultRow(id: id, node: node) : nil
            return try await gates.withLock(id) {
                // The call's work on a row: the session installed here for `body`, then what to write back.
                func run(_ row: SessionRow) async throws -> (R, SessionWriteBack) {
                    let session = try install(row)
                    do {
                        let result = try await body()
                        let writeBack = try Self.writeBack(session, loaded: row)
                        uninstallIfIdle(session)
                        return (result, writeBack)
                    } catch {
                        uninstallIfIdle(session)
                        throw error
                    }
                }
                if speculative, !hasSubscribersHere(id), let result = try await shared.speculate(id: id, run) {
                    return result
                }
                return try await shared.withLocked(id: id, creatingDefault: creating) { lookup -> (R, SessionWriteBack) in
                    switch lookup {
                    case .missing: throw KatoError.sessionNotFound(id)
                    case .expired: throw KatoError.sessionExpired(id)
                    case .found(let row): return try await run(row)
                    }
                }
            }
        } catch let error as StoreError {
            throw CallSupport.mapped(KatoError.sessionStore(error, id))
        } catch {
            throw CallSupport.mapped(error)
        }
    }

    /// Stores a session `create` made (shared sessions); RESOURCE_EXHAUSTED at the session limit.
    func storeCreated(_ session: Session, _ context: ServerContext) async throws {
        guard let shared else { return }
        do {
            let (engineState, ttl, sequence, _) = session.stored()
            let row = SessionRow(
                id: session.id, nodeID: session.nodeID, isDefault: false, owner: session.owner,
                createdAt: session.createdAt.timeIntervalSince1970, metadata: session.metadata.serializedBytes(),
                state: try SessionStateCodec.encode(engineState), ttlMilliseconds: Self.milliseconds(ttl), sequence: sequence)
            guard try await shared.insert(row, limit: configuration.maxSessions) else {
                throw KatoError.tooManySessions(limit: configuration.maxSessions)
            }
        } catch let error as StoreError {
            throw CallSupport.mapped(KatoError.sessionStore(error, session.id))
        } catch {
            throw CallSupport.mapped(error)
        }
    }

    /// Sessions of `nodeID` the caller may see, counted in the shared store.
    func sharedCount(nodeID: String, visibleTo context: ServerContext, _ shared: any SharedSessionStore) async throws -> Int {
        do {
            guard let principal = context.principal, principal.role != .admin, case .only(let nodes) = principal.nodes else {
                return try await shared.count(nodeID: nodeID.isEmpty ? nil : nodeID)
            }
            if !nodeID.isEmpty {
                guard nodes.contains(nodeID) else { throw Self.nodeDenied(nodeID) }
                return try await shared.count(nodeID: nodeID)
            }
            var total = 0
            for node in nodes { total += try await shared.count(nodeID: node) }
            return total
        } catch let error as StoreError {
            throw CallSupport.mapped(KatoError.sessionStore(error, "count"))
        } catch {
            throw CallSupport.mapped(error)
        }
    }

    /// Drops a session installed for its subscribers once none is left (and no call uses it).
    func release(_ session: Session) async {
        guard shared != nil else { return }
        await gates.withLock(session.id) { uninstallIfIdle(session) }
    }

    // MARK: Loading and writing back

    /// The session of `row`, installed where `resolve`/`session(id:)` find it; a session already
    /// installed (it has subscribers here) keeps its subscribers and takes the stored state.
    private func install(_ row: SessionRow) throws -> Session {
        let engineState: SessionState
        let metadata: Google_Protobuf_Struct
        do {
            engineState = try SessionStateCodec.decode(row.state)
            metadata = try Google_Protobuf_Struct(serializedBytes: row.metadata)
        } catch {
            throw KatoError.unavailable(reason: "SESSION_STATE_UNREADABLE", message: "session '\(row.id)' could not be decoded: \(error)")
        }
        let ttl = Duration.milliseconds(row.ttlMilliseconds)
        let installed = state.withLock { s in row.isDefault ? s.defaults[row.nodeID] : s.sessions[row.id] }
        if let installed {
            installed.load(engineState: engineState, ttl: ttl, sequence: row.sequence, logging: row.logging)
            return installed
        }
        let session = Session(
            id: row.id, nodeID: row.nodeID, isDefault: row.isDefault, engine: nodes.engine(for: row.nodeID),
            engineState: engineState, ttl: ttl, metadata: metadata, limits: limits, owner: row.owner,
            createdAt: Date(timeIntervalSince1970: row.createdAt))
        session.load(engineState: engineState, ttl: ttl, sequence: row.sequence, logging: row.logging)
        state.withLock { s in
            if row.isDefault { s.defaults[row.nodeID] = session } else { s.sessions[row.id] = session }
        }
        return session
    }

    /// The session is installed here for subscribers (their updates go through the locked path).
    private func hasSubscribersHere(_ id: String) -> Bool {
        let installed = state.withLock { s in id.hasPrefix("default:") ? s.defaults[String(id.dropFirst(8))] : s.sessions[id] }
        return installed?.hasSubscribers ?? false
    }

    func uninstallIfIdle(_ session: Session) {
        guard !session.hasSubscribers else { return }
        state.withLock { s in
            if session.isDefault {
                if s.defaults[session.nodeID] === session { s.defaults[session.nodeID] = nil }
            } else if s.sessions[session.id] === session {
                s.sessions[session.id] = nil
            }
        }
    }

    /// What the call did to the session: deleted, changed (the state written back), or only
    /// used (the expiry slides).
    private static func writeBack(_ session: Session, loaded: SessionRow) throws -> SessionWriteBack {
        let (engineState, ttl, sequence, ended) = session.stored()
        let log = session.takeLog().map { (sequence: $0.sequence, update: $0.serializedBytes()) }
        if ended { return SessionWriteBack(.delete) }
        let bytes = try SessionStateCodec.encode(engineState)
        let ttlMilliseconds = milliseconds(ttl)
        let change: SessionWriteBack.Change =
            bytes == loaded.state && ttlMilliseconds == loaded.ttlMilliseconds && sequence == loaded.sequence
            ? .touch : .update(state: bytes, ttlMilliseconds: ttlMilliseconds, sequence: sequence)
        return SessionWriteBack(change, updates: log, subscribing: session.hasSubscribers)
    }

    private func defaultRow(id: String, node: String) throws -> SessionRow {
        guard let state = Self.emptyState else { throw KatoError.unavailable(reason: "INTERNAL", message: "cannot encode a session") }
        return SessionRow(
            id: id, nodeID: node, isDefault: true, owner: nil, createdAt: Date().timeIntervalSince1970,
            metadata: [], state: state, ttlMilliseconds: 0, sequence: 0)
    }

    /// A new default session's state, encoded once.
    private static let emptyState: [UInt8]? = try? SessionStateCodec.encode(try SessionState())

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}

extension KatoError {
    /// The shared session store failed: UNAVAILABLE (CIRCUIT_OPEN once the breaker opened); the
    /// call changed nothing in the session.
    static func sessionStore(_ error: StoreError, _ id: String) -> KatoError {
        let reason = error.code == .circuitOpen ? "CIRCUIT_OPEN" : "DATABASE_ERROR"
        return .unavailable(reason: reason, message: "the session store failed (session '\(id)'); the session's change was not stored, retry: \(error.message)")
    }
}

/// One ``AsyncGate`` per key in use, dropped when its last user leaves.
final class KeyedGates: Sendable {
    private let gates = Mutex<[String: (gate: AsyncGate, users: Int)]>([:])

    func withLock<R>(_ key: String, _ body: () async throws -> R) async rethrows -> R {
        let gate = gates.withLock { g -> AsyncGate in
            let entry = g[key] ?? (AsyncGate(), 0)
            g[key] = (entry.gate, entry.users + 1)
            return entry.gate
        }
        defer {
            gates.withLock { g in
                guard let entry = g[key] else { return }
                g[key] = entry.users <= 1 ? nil : (entry.gate, entry.users - 1)
            }
        }
        return try await gate.withLock(body)
    }
}
