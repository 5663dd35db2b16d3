import Foundation
import HandOver

/// The hand-over conversation between a running server (the predecessor) and the one replacing
/// it (the successor), over `<data-dir>/handover.sock` (docs/OPERATIONS.md "Restart"):
///
/// 1. successor → `hello`; predecessor → `welcome` (it notes which nodes it commits from now on)
///    or `refused` (a hand-over is already under way)
/// 2. the successor preloads the knowledge base (a second SQLite reader), then → `ready`
/// 3. predecessor → `listener`, with the listening socket attached (SCM_RIGHTS), then (when the
///    successor's `ready` asked for it and it serves one) `adminListener` with the admin port's
///    listening socket; it then drains:
///    subscriptions end with `SERVER_DRAINING`, GOAWAY, in-flight calls finish within the grace
///    period, the store commits and releases the data directory
/// 4. predecessor → `done` (the nodes it committed since step 1), then — when the hello asked
///    for it (`sessionIndex`) — the index of every session id in the order the chunks carry them,
///    then the sessions in `sessionChunks` frames (`SessionHandOver`); it exits
/// 5. the successor opens the store (re-reading the nodes named in `done`), registers the index's
///    ids as pending and accepts on the listener (connections waited in its backlog meanwhile);
///    the chunks are installed as they arrive, and a call for a pending session waits for its
///    chunk (`PendingSessions`). Without an index it installs every session before accepting.
struct HandOverMessage: Codable, Sendable {
    static let protocolVersion = 1

    enum Kind: String, Codable { case hello, welcome, refused, ready, listener, adminListener, done }
    var kind: Kind
    var version = HandOverMessage.protocolVersion
    var pid: Int32?
    /// welcome: how long the predecessor may take to drain (its drain delay is skipped).
    var drainMilliseconds: Int64?
    /// welcome: the session format it will send (`SessionHandOver.format(for:)`); a successor that
    /// reads another one declines before taking anything, and the predecessor keeps serving.
    var sessionFormat: Int?
    /// hello: the session formats the successor reads (absent from a release that reads only 1).
    var sessionFormats: [Int]?
    /// hello: the successor takes a session index before the sessions (absent from a release that
    /// does not: it gets every session before it accepts).
    var sessionIndex: Bool?
    /// done: the index follows (one frame, `SessionHandOver.encodeIndex`), then the chunks.
    var indexFollows: Bool?
    /// ready: the successor takes the admin port's socket too (absent from a release that does not:
    /// the predecessor then keeps it, and that successor binds its own).
    var takesAdminListener: Bool?
    /// listener: an `adminListener` frame follows.
    var adminListenerFollows: Bool?
    /// done: nodes committed since the welcome.
    var changedNodes: [String]?
    /// done: how many frames of sessions follow.
    var sessionChunks: Int?
    /// refused: why.
    var reason: String?

    init(_ kind: Kind) { self.kind = kind }

    func send(on connection: ControlConnection, passing descriptor: Int32? = nil) throws {
        try connection.send(Array(try JSONEncoder().encode(self)), passing: descriptor)
    }

    static func receive(on connection: ControlConnection, expecting kinds: Set<Kind>) throws -> (HandOverMessage, Int32?) {
        let (frame, descriptor) = try connection.receive(limit: 1 << 20)
        let message: HandOverMessage
        do {
            message = try JSONDecoder().decode(HandOverMessage.self, from: Data(frame))
        } catch {
            if let descriptor { ListeningSocket.close(descriptor) }
            throw HandOverProtocolError("unreadable hand-over message: \(error)")
        }
        guard message.version == protocolVersion, kinds.contains(message.kind) else {
            if let descriptor { ListeningSocket.close(descriptor) }
            throw HandOverProtocolError(
                "unexpected hand-over message \(message.kind.rawValue) (protocol \(message.version)); expected \(kinds.map(\.rawValue).sorted())")
        }
        return (message, descriptor)
    }

    /// The control socket of a data directory.
    static func socketPath(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("handover.sock")
    }
}
