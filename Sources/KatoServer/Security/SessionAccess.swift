import GRPCH2

/// What a handler does with a session, for authorisation.
enum SessionAccess {
    /// Get, predict, subscribe, read the STM: any role, on the principal's nodes.
    case read
    /// Observe, learn, clear the STM, extend, update, delete: `writer`, on sessions the
    /// principal created or the default sessions of its nodes.
    case write
    /// ClearAllMemory: `admin`.
    case clearAll
}

extension SessionRegistry {
    /// `session_id`, or the default session of `node_id`, if the caller may `access` it; takes
    /// a token from the session's rate limit and records session and node for span and log.
    ///
    /// A session on a node the principal may not use answers NOT_FOUND, exactly as a missing
    /// one (its existence is not revealed); naming such a node directly is PERMISSION_DENIED.
    func resolve(sessionID: String, nodeID: String, for access: SessionAccess, _ context: ServerContext) throws(KatoError) -> Session {
        // The call's record and principal are read once (each read is an attribute lookup and a lock).
        let record = context.callRecord
        let principal = record.map(\.principalValue) ?? context.principal
        if sessionID.isEmpty, let principal {
            let node = nodeID.isEmpty ? configuration.defaultNodeID : nodeID
            guard principal.mayUse(node: node) else { throw Self.counted(Self.nodeDenied(node)) }
        }
        let session = try resolve(sessionID: sessionID, nodeID: nodeID)
        try admit(session, access, principal, record, context)
        return session
    }

    /// The session with this id (never a default session), if the caller may `access` it.
    func session(id: String, for access: SessionAccess, _ context: ServerContext) throws(KatoError) -> Session {
        let session = try session(id: id)
        let record = context.callRecord
        try admit(session, access, record.map(\.principalValue) ?? context.principal, record, context)
        return session
    }

    /// Checks that the caller may create a session on `nodeID`.
    func authorizeCreate(nodeID: String, _ context: ServerContext) throws(KatoError) {
        guard let principal = context.principal, !nodeID.isEmpty else { return }
        guard principal.has(.writer) else { throw Self.counted(Self.roleRequired(.writer)) }
        guard principal.mayUse(node: nodeID) else { throw Self.counted(Self.nodeDenied(nodeID)) }
    }

    private func admit(
        _ session: Session, _ access: SessionAccess, _ principal: Principal?, _ record: CallRecord?, _ context: ServerContext
    ) throws(KatoError) {
        if let principal {
            do { try Self.authorize(session, access, principal) } catch { throw Self.counted(error) }
        }
        if let record {
            try RateLimitInterceptor.admitSession(session.id, record.sessionLimiter ?? context.sessionRateLimiter)
            record.record(sessionID: session.publicID, nodeID: session.nodeID)
        } else {
            try context.admitSessionRequest(session.id)
        }
    }

    static func authorize(_ session: Session, _ access: SessionAccess, _ principal: Principal) throws(KatoError) {
        if principal.role == .admin { return }
        guard principal.nodes.contains(session.nodeID) else {
            throw session.isDefault ? nodeDenied(session.nodeID) : .sessionNotFound(session.id)
        }
        switch access {
        case .read:
            return
        case .write:
            guard principal.has(.writer) else { throw roleRequired(.writer) }
            if !session.isDefault, session.owner != principal.name {
                throw .permissionDenied(reason: "SESSION_NOT_OWNED", message: "session '\(session.id)' belongs to another principal")
            }
        case .clearAll:
            throw roleRequired(.admin)
        }
    }

    /// Counts a refusal in `kato_auth_failures_total{reason}` (a hidden session counts as
    /// `SESSION_NOT_FOUND`).
    static func counted(_ error: KatoError) -> KatoError {
        AuthInterceptor.failure(error.reason)
        return error
    }

    static func nodeDenied(_ node: String) -> KatoError {
        .permissionDenied(reason: "NODE_NOT_ALLOWED", message: "node '\(node)' is not among the caller's nodes")
    }

    static func roleRequired(_ role: Role) -> KatoError {
        .permissionDenied(reason: "ROLE_REQUIRED", message: "this call needs the \(role.rawValue) role")
    }
}

extension SessionRegistry {
    /// Sessions of `nodeID` (all nodes when empty) that the caller may see: a principal
    /// limited to some nodes counts only theirs.
    func count(nodeID: String, visibleTo context: ServerContext) throws(KatoError) -> Int {
        guard let principal = context.principal, principal.role != .admin, case .only(let nodes) = principal.nodes else {
            return count(nodeID: nodeID.isEmpty ? nil : nodeID)
        }
        if !nodeID.isEmpty {
            guard nodes.contains(nodeID) else { throw Self.nodeDenied(nodeID) }
            return count(nodeID: nodeID)
        }
        return nodes.reduce(0) { $0 + count(nodeID: $1) }
    }
}
