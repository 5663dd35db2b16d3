import Foundation
import HandOver
import KatoEngine
import Logging
import Synchronization

/// The index a predecessor sends before the sessions (HandOverMessage.swift, step 4): every
/// session id in the order the chunks carry them — a varint count, then the ids.
extension SessionHandOver {
    static func encodeIndex(_ ids: [String]) -> [UInt8] {
        var w = BinaryWriter(capacity: ids.count * 56)
        w.count(ids.count)
        for id in ids { w.string(id) }
        return w.bytes
    }

    static func decodeIndex(_ frame: [UInt8]) throws -> [String] {
        var r = BinaryReader(frame)
        let n = try r.count()
        var ids: [String] = []
        ids.reserveCapacity(min(n, frame.count))
        for _ in 0..<n { ids.append(try r.string()) }
        guard r.isAtEnd else { throw BinaryFormatError("\(frame.count - r.offset) bytes after the session index") }
        return ids
    }
}

extension SessionRegistry {
    /// Every live session in the predecessor's order for a hand-over: default sessions first (one
    /// per node, each shared by every caller of its node), then the most recently used first — the
    /// sessions the next calls most likely name arrive first. Part of the pause (the successor
    /// accepts only once it has the index): one lock per session, and the sort moves plain
    /// integers, not session references (sorting (instant, session) pairs took 4–8× longer:
    /// 320–680 ms against 85 ms at 100,000 sessions, release build, loaded machine).
    func liveInHandOverOrder(at now: ContinuousClock.Instant) -> [Session] {
        let (defaults, named) = state.withLock { (Array($0.defaults.values), Array($0.sessions.values)) }
        var keys: [(lastUsed: Int64, index: Int32)] = []
        keys.reserveCapacity(named.count)
        for (i, session) in named.enumerated() {
            let (expiresAt, ttl) = session.state.withLockedValue { ($0.expiresAt, $0.ttl) }
            guard expiresAt > now else { continue }  // expired (named sessions only; defaults never do)
            let ago = (expiresAt - ttl) - now  // a sliding expiry is reset to the TTL at each use
            keys.append((ago.components.seconds * 1_000_000_000 + ago.components.attoseconds / 1_000_000_000, Int32(i)))
        }
        keys.sort { $0.lastUsed > $1.lastUsed }
        return defaults + keys.map { named[Int($0.index)] }
    }

    /// The successor's side after the index: announces the ids (calls for them wait), then
    /// receives, decodes and installs the chunks as they arrive, each chunk's calls going on as
    /// soon as it is installed; runs on a thread of its own (blocking socket reads) while the
    /// server serves. A broken connection or an unreadable chunk drops the rest (logged; their
    /// waiting calls get UNAVAILABLE).
    func receive(_ incoming: IncomingSessions, wait: Duration, logger: Logger) {
        pending.expect(ids: incoming.ids, chunkSize: SessionHandOver.chunkSize, wait: wait)
        let pending = self.pending
        Thread.detachNewThread { [self] in
            defer { incoming.connection.close() }
            let start = ContinuousClock.now
            let group = DispatchGroup()
            let failed = Mutex<String?>(nil)
            var bytes = 0
            for index in 0..<incoming.chunks {
                let chunk: [UInt8]
                do {
                    chunk = try incoming.connection.receive().frame
                } catch {
                    failed.withLock { $0 = $0 ?? "chunk \(index + 1) of \(incoming.chunks): \(error)" }
                    break
                }
                bytes += chunk.count
                // Decoded and installed by a worker while the next chunk is received.
                DispatchQueue.global().async(group: group) {
                    do {
                        let snaps = try SessionHandOver.decode(chunk, format: incoming.format)
                        try self.install(snaps[...], received: incoming.received)
                        pending.arrived(chunk: index, ids: snaps.map(\.id))
                    } catch {
                        failed.withLock { $0 = $0 ?? "chunk \(index + 1) of \(incoming.chunks): \(error)" }
                        pending.fail("\(error)")
                    }
                }
            }
            group.wait()
            if let reason = failed.withLock({ $0 }) {
                pending.fail(reason)
                logger.error("the hand-over of the sessions broke off; the sessions not yet received are lost", metadata: [
                    "error": "\(reason)", "sessions_announced": "\(incoming.ids.count)",
                ])
                return
            }
            logger.info("sessions installed", metadata: [
                "sessions": "\(incoming.ids.count)", "bytes": "\(bytes)", "format": "\(incoming.format)",
                "receive_install_ms": "\((ContinuousClock.now - start).ms)",
            ])
        }
    }
}
