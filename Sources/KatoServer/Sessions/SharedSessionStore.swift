import Foundation
import KatoEngine
import KatoPostgres

/// Where sessions live when replicas share them (`--postgres`): a session call loads the session
/// under a lock that holds across replicas, runs, and writes the session back before it answers.
/// Without one (the embedded default) sessions live in this process's memory only, as before.
public protocol SharedSessionStore: Sendable {
    /// Stores a new session; false when the store holds `limit` sessions already.
    func insert(_ row: SessionRow, limit: Int) async throws -> Bool
    /// Runs `body` on the session `id` under its lock and applies the write-back it returns
    /// before answering; `creatingDefault` is a node's default session, created when missing.
    func withLocked<R>(
        id: String, creatingDefault: SessionRow?, _ body: (SessionLookup) async throws -> (R, SessionWriteBack)
    ) async throws -> R
    /// Runs `body` on this replica's copy of the session and commits its write-back on condition
    /// the copy is still current (re-running `body` on the current row otherwise); nil when the
    /// call must take the locked path (`withLocked`). `body` may run more than once.
    func speculate<R>(id: String, _ body: (SessionRow) async throws -> (R, SessionWriteBack)) async throws -> R?
    /// Live sessions of a node (every node: nil), default sessions not counted.
    func count(nodeID: String?) async throws -> Int
    /// Removes expired sessions; safe to call from every replica (one does the work).
    func removeExpired() async throws -> Int
    /// The session's updates after `sequence` still in its log, its sequence and state now
    /// (nil: the session is gone).
    func updates(of id: String, after sequence: Int64) async throws -> SessionUpdates?
    /// Keeps the updates of these sessions (subscribed here) logged.
    func keepLogging(_ ids: [String]) async throws
    /// Calls `handler` with (session id, sequence) for every update any replica commits.
    func onSessionUpdate(_ handler: @escaping @Sendable (String, Int64) -> Void)
}

extension PostgresSessionStore: SharedSessionStore {
    public func onSessionUpdate(_ handler: @escaping @Sendable (String, Int64) -> Void) {
        onUpdate.withLock { $0 = handler }
    }
}

/// A session's engine state as bytes: the engine's binary form (`SessionState+Binary.swift`,
/// bit-exact doubles, several times cheaper than the binary property list it replaced, which was
/// the largest cost of a session call's own work), after a 3-byte tag naming the form. Rows
/// written by an earlier build (property lists, which start "bplist") are still read. A change of
/// the binary form's fields must change `binaryTag`, as it changes the hand-over's format version.
enum SessionStateCodec {
    static let binaryTag: [UInt8] = [0x4B, 0x53, 0x01]  // "KS", form 1

    static func encode(_ state: SessionState) throws -> [UInt8] {
        var w = BinaryWriter(capacity: 256)
        state.encode(into: &w)
        return binaryTag + w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> SessionState {
        if bytes.starts(with: binaryTag) {
            var r = BinaryReader(bytes, offset: binaryTag.count)
            let state = try SessionState(decoding: &r)
            guard r.isAtEnd else { throw BinaryFormatError("trailing bytes after a session state") }
            return state
        }
        return try PropertyListDecoder().decode(SessionState.self, from: Data(bytes))
    }
}
