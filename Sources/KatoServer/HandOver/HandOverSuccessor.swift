import Foundation
import HandOver
import KatoStore
import Logging

/// What a predecessor handed over: the listening socket, the nodes it committed after the
/// successor's preload began, every session. Put in `KatoServerApp.Configuration.takeOver`.
public struct TakenOver: Sendable {
    /// The listening socket (owned by the server that adopts it).
    public let listener: Int32
    /// The admin port's listening socket, when the predecessor served one (owned likewise).
    public let adminListener: Int32?
    public let preloaded: PreloadedKnowledgeBase?
    let changedNodes: Set<String>
    /// Every session, from a predecessor that sends no index (the release before): installed
    /// before the first call. Empty when `incoming` streams them instead.
    let sessions: SessionHandOver
    /// The sessions still to arrive behind an index (`IncomingSessions`): the server accepts
    /// calls at once, and a call for one of them waits for it.
    let incoming: IncomingSessions?
    /// How long a call waits for its session (`PendingSessions`).
    public var sessionWait: Duration = PendingSessions.defaultWait
    public var sessionCount: Int { incoming?.ids.count ?? sessions.sessions.count }
}

/// The rest of a hand-over after the index: the chunks of sessions still to be received over the
/// control connection, in the index's order (`SessionRegistry.receive(_:logger:)`).
final class IncomingSessions: Sendable {
    let ids: [String]
    let chunks: Int
    let format: Int
    let connection: ControlConnection
    /// When the index arrived: the sessions' remaining lifetimes count from it.
    let received = ContinuousClock.now

    init(ids: [String], chunks: Int, format: Int, connection: ControlConnection) {
        (self.ids, self.chunks, self.format, self.connection) = (ids, chunks, format, connection)
    }
}

/// The successor's side of the hand-over (`kato-server --take-over`, HandOverMessage.swift).
public final class HandOverSuccessor: Sendable {
    let connection: ControlConnection
    let predecessor: Int32
    let drain: Duration
    let sessionFormat: Int
    let logger: Logger

    /// Says hello to the server owning `dataDirectory`; fails with an operator's message when none
    /// answers within `timeout` (nothing in the directory is touched).
    public static func connect(dataDirectory: String, timeout: Duration, logger: Logger) async throws -> HandOverSuccessor {
        let path = HandOverMessage.socketPath(dataDirectory: dataDirectory)
        return try await HandOverThread.run {
            let connection: ControlConnection
            do {
                connection = try ControlConnection.connect(path: path)
            } catch {
                throw HandOverProtocolError(
                    "no running kato-server hands over \(dataDirectory) (\(error)); start it without --take-over if none runs")
            }
            try connection.setTimeout(timeout)
            var hello = HandOverMessage(.hello)
            hello.pid = getpid()
            hello.sessionFormats = SessionHandOver.formats
            hello.sessionIndex = true
            do {
                try hello.send(on: connection)
                let (welcome, _) = try HandOverMessage.receive(on: connection, expecting: [.welcome, .refused])
                if welcome.kind == .refused {
                    throw HandOverProtocolError("the kato-server owning \(dataDirectory) refused the hand-over: \(welcome.reason ?? "?")")
                }
                guard let format = welcome.sessionFormat, SessionHandOver.formats.contains(format) else {
                    throw HandOverProtocolError(
                        "the kato-server owning \(dataDirectory) sends sessions in format \(welcome.sessionFormat ?? 0), this one reads \(SessionHandOver.formats); it keeps serving: restart it the ordinary way")
                }
                logger.notice("taking over", metadata: ["predecessor_pid": "\(welcome.pid ?? 0)", "data_dir": "\(dataDirectory)"])
                return HandOverSuccessor(
                    connection: connection, predecessor: welcome.pid ?? 0,
                    drain: .milliseconds(welcome.drainMilliseconds ?? 10_000), sessionFormat: format, logger: logger)
            } catch let e as HandOverProtocolError {
                throw e
            } catch {
                throw HandOverProtocolError("the kato-server owning \(dataDirectory) did not hand over within \(timeout): \(error)")
            }
        }
    }

    private init(connection: ControlConnection, predecessor: Int32, drain: Duration, sessionFormat: Int, logger: Logger) {
        self.connection = connection
        self.predecessor = predecessor
        self.drain = drain
        self.sessionFormat = sessionFormat
        self.logger = logger
    }

    /// Says ready (the preload is done), receives the listener, waits while the predecessor
    /// drains, then receives the changed nodes and the session index (the sessions follow, read by
    /// `SessionRegistry.receive` while the server serves) — or, from a predecessor without the
    /// index, every session.
    public func takeOver(preloaded: PreloadedKnowledgeBase?) async throws -> TakenOver {
        let connection = self.connection
        let drain = self.drain
        let format = self.sessionFormat
        let logger = self.logger
        return try await HandOverThread.run {
            var ready = HandOverMessage(.ready)
            ready.takesAdminListener = true
            try ready.send(on: connection)
            let (message, descriptor) = try HandOverMessage.receive(on: connection, expecting: [.listener])
            guard let listener = descriptor else { throw HandOverProtocolError("the predecessor sent no listening socket") }
            var adminListener: Int32?
            do {
                if message.adminListenerFollows == true {
                    adminListener = try HandOverMessage.receive(on: connection, expecting: [.adminListener]).1
                }
                // Its drain: in-flight calls within the grace period, then the store's last commit.
                try connection.setTimeout(drain + .seconds(330))  // the predecessor's bound: grace + 300 s
                let (done, _) = try HandOverMessage.receive(on: connection, expecting: [.done])
                if done.indexFollows == true {
                    let index = try connection.receive().frame
                    let ids = try SessionHandOver.decodeIndex(index)
                    logger.info("session index received", metadata: ["sessions": "\(ids.count)", "bytes": "\(index.count)"])
                    return TakenOver(
                        listener: listener, adminListener: adminListener, preloaded: preloaded, changedNodes: Set(done.changedNodes ?? []),
                        sessions: SessionHandOver(sessions: []),
                        incoming: IncomingSessions(ids: ids, chunks: done.sessionChunks ?? 0, format: format, connection: connection))
                }
                defer { connection.close() }
                // Each chunk is decoded (on another thread) as soon as it arrives.
                let start = ContinuousClock.now
                let decoder = SessionHandOver.StreamingDecoder(chunks: done.sessionChunks ?? 0, format: format)
                var bytes = 0
                for _ in 0..<(done.sessionChunks ?? 0) {
                    let chunk = try connection.receive().frame
                    bytes += chunk.count
                    decoder.add(chunk)
                }
                let received = ContinuousClock.now
                let sessions: SessionHandOver
                do {
                    sessions = try decoder.finish()
                    logger.info("sessions received", metadata: [
                        "sessions": "\(sessions.sessions.count)", "bytes": "\(bytes)", "format": "\(format)",
                        "receive_ms": "\((received - start).ms)", "decode_ms": "\((ContinuousClock.now - start).ms)",
                    ])
                } catch {
                    // The listener is ours now and the predecessor is gone: serve without sessions
                    // rather than not at all.
                    logger.error("the predecessor's sessions cannot be read; serving without them", metadata: ["error": "\(error)"])
                    sessions = SessionHandOver(sessions: [])
                }
                return TakenOver(
                    listener: listener, adminListener: adminListener, preloaded: preloaded, changedNodes: Set(done.changedNodes ?? []), sessions: sessions,
                    incoming: nil)
            } catch {
                connection.close()
                ListeningSocket.close(listener)
                if let adminListener { ListeningSocket.close(adminListener) }
                throw HandOverProtocolError("the predecessor did not finish its hand-over: \(error)")
            }
        }
    }
}
