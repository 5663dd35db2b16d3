import Foundation
import HandOver
import Logging
import ServiceLifecycle
import Synchronization

/// The running server's side of the hand-over (HandOverMessage.swift): listens on
/// `<data-dir>/handover.sock`; once a successor says it is ready, passes it the listening socket
/// and ends the service group, whose ordered shutdown then drains (without the pre-stop delay:
/// the port keeps being served) and closes the store; `finish()`, the group's last step, sends
/// the changed nodes and every session.
public final class HandOverPredecessor: Sendable {
    private struct State {
        var successor: ControlConnection?
        /// The session format the successor reads (`SessionHandOver.format(for:)`).
        var sessionFormat = SessionHandOver.json
        /// The successor takes an index before the sessions (and accepts once it has it).
        var sendsIndex = false
        /// The conversation under way (interrupted at shutdown).
        var current: ControlConnection?
        var stopped = false
    }

    let listener: ControlListener
    let listeningSocket: Int32
    let adminListeningSocket: Int32?
    let app: KatoServerApp
    let drainBound: Duration
    let logger: Logger
    private let state = Mutex(State())

    /// `listeningSocket`: the gRPC listener's descriptor, `adminListeningSocket` the admin port's
    /// (the server keeps owning both). `drainBound`: the grace period, told to the successor as
    /// how long to wait.
    public init(
        app: KatoServerApp, dataDirectory: String, listeningSocket: Int32, adminListeningSocket: Int32? = nil, drainBound: Duration,
        logger: Logger
    ) throws {
        listener = try ControlListener(path: HandOverMessage.socketPath(dataDirectory: dataDirectory))
        self.listeningSocket = listeningSocket
        self.adminListeningSocket = adminListeningSocket
        self.app = app
        self.drainBound = drainBound
        self.logger = logger
    }

    /// Whether a successor took the listener (the shutdown is a hand-over).
    public var isHandingOver: Bool { state.withLock { $0.successor != nil } }

    /// Accepts successors until one is ready (then returns, which shuts the group down) or the
    /// group shuts down for another reason.
    func serve() async {
        await withGracefulShutdownHandler {
            while !state.withLock({ $0.stopped }) {
                do {
                    if try await HandOverThread.run({ try self.converse() }) { return }
                } catch {
                    if state.withLock({ $0.stopped }) { return }
                    logger.warning("hand-over failed; still serving", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            let current = self.state.withLock { s -> ControlConnection? in
                s.stopped = true
                return s.successor == nil ? s.current : nil
            }
            current?.interrupt()
            self.listener.close()
        }
    }

    /// One successor's conversation up to the listener; true when it took it.
    private func converse() throws -> Bool {
        let connection = try listener.accept()
        let started = state.withLock { s -> Bool in
            s.current = connection
            return !s.stopped
        }
        defer { state.withLock { $0.current = nil } }
        guard started else { return false }
        try connection.setTimeout(.seconds(10))
        let (hello, _) = try HandOverMessage.receive(on: connection, expecting: [.hello])
        guard let store = app.store else {
            var refused = HandOverMessage(.refused)
            refused.reason = "this server has no data directory"
            try refused.send(on: connection)
            return false
        }
        guard let format = SessionHandOver.format(for: hello.sessionFormats) else {
            var refused = HandOverMessage(.refused)
            refused.reason = "it reads session formats \(hello.sessionFormats ?? []), this server writes \(SessionHandOver.formats)"
            try refused.send(on: connection)
            return false
        }
        logger.notice("successor connected; it preloads the knowledge base", metadata: [
            "successor_pid": "\(hello.pid ?? 0)", "session_format": "\(format)",
        ])
        store.trackChanges()  // before the successor's read snapshot begins
        var welcome = HandOverMessage(.welcome)
        welcome.pid = getpid()
        welcome.sessionFormat = format
        welcome.drainMilliseconds = drainBound.components.seconds * 1000 + drainBound.components.attoseconds / 1_000_000_000_000_000
        try welcome.send(on: connection)
        try connection.setTimeout(.seconds(3600))  // a large knowledge base takes a while to preload
        let (ready, _) = try HandOverMessage.receive(on: connection, expecting: [.ready])
        let handing = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.successor = connection
            s.sessionFormat = format
            s.sendsIndex = hello.sessionIndex == true
            return true
        }
        guard handing else { return false }
        // From here on the successor holds the sockets: a failure leaves the drain to go on.
        var message = HandOverMessage(.listener)
        let admin = ready.takesAdminListener == true ? adminListeningSocket : nil
        message.adminListenerFollows = admin != nil
        try message.send(on: connection, passing: listeningSocket)
        if let admin { try HandOverMessage(.adminListener).send(on: connection, passing: admin) }
        logger.notice("listener handed over; draining", metadata: [
            "successor_pid": "\(hello.pid ?? 0)", "admin_listener": "\(admin != nil)",
        ])
        listener.close()
        return true
    }

    /// The group's last step (the store is closed): sends the nodes committed since the
    /// successor's preload began and every session. Nothing without a successor.
    func finish() {
        guard let (connection, format, sendsIndex) = state.withLock({ s in s.successor.map { ($0, s.sessionFormat, s.sendsIndex) } }) else {
            listener.close()
            return
        }
        defer { connection.close() }
        do {
            let start = ContinuousClock.now
            // Final: every call has ended (drained) and nothing accepts here any more.
            let sessions = sendsIndex ? app.sessions.liveInHandOverOrder(at: start) : app.sessions.live(at: start)
            let ordered = ContinuousClock.now
            var done = HandOverMessage(.done)
            done.changedNodes = Array(app.store?.changedNodes ?? [])
            done.sessionChunks = SessionHandOver.chunkCount(sessions.count)
            done.indexFollows = sendsIndex
            try connection.setTimeout(.seconds(60))
            try done.send(on: connection)
            // The successor accepts calls once it has the index; a call for a session whose chunk
            // has not arrived waits for that chunk.
            if sendsIndex { try connection.send(SessionHandOver.encodeIndex(sessions.map(\.id))) }
            let indexed = ContinuousClock.now
            // Streamed: a chunk's sessions are snapshotted and encoded by one worker, the chunk
            // leaves as soon as it is ready, and the successor decodes it while the next ones are.
            var (bytes, sent) = (0, 0)
            let delay = Self.testChunkDelay
            try SessionHandOver.streamChunks(of: sessions, format: format, snapshot: { $0.snapshot(now: start) }) { chunk in
                if sent > 0, let delay { Thread.sleep(forTimeInterval: Double(delay.ms) / 1000) }
                bytes += chunk.count
                sent += 1
                try connection.send(chunk)
            }
            logger.notice("handed over", metadata: [
                "sessions": "\(sessions.count)", "changed_nodes": "\(done.changedNodes?.count ?? 0)", "format": "\(format)",
                "bytes": "\(bytes)", "order_ms": "\((ordered - start).ms)", "index_ms": "\((indexed - start).ms)", "snapshot_encode_send_ms": "\((ContinuousClock.now - start).ms)",
            ])
        } catch {
            logger.error("hand-over of the sessions failed; the successor serves without the sessions not sent", metadata: ["error": "\(error)"])
        }
    }

    /// TEST ONLY: `KATO_TEST_HANDOVER_CHUNK_DELAY_MS` holds back every chunk after the first, so a
    /// test sees calls wait for a session still on its way (Tests/python/test_restart.py).
    static let testChunkDelay: Duration? = ProcessInfo.processInfo.environment["KATO_TEST_HANDOVER_CHUNK_DELAY_MS"]
        .flatMap(Int64.init).map { .milliseconds($0) }
}

extension Duration {
    var ms: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
