import Foundation
import KatoEngine
import KatoProto
import ProtobufCBridge

/// What a successor process needs of every live session (a hand-over, docs/OPERATIONS.md): the
/// engine state (STM, configuration, predictions), TTL and remaining lifetime, the subscription
/// sequence, identity and owner. A type of its own, not the in-memory `Session`, so the latter's
/// layout can change freely: only `Session.snapshot()` and `SessionRegistry.install(_:)` convert.
/// Versioned through `SessionHandOver.version`; a successor refuses a version it does not know.
/// (`SessionState`'s Codable form is part of that format: a change of its fields needs a new version.)
struct SessionSnapshot: Codable, Sendable, Equatable {
    var id: String
    var nodeID: String
    var isDefault: Bool
    var createdAt: Double
    /// `Google_Protobuf_Struct`, protobuf bytes.
    var metadata: [UInt8]
    var owner: String?
    var engineState: SessionState
    var ttlSeconds: Double
    /// Seconds left before it expires (a default session never does).
    var remainingSeconds: Double
    var sequence: Int64
}

/// Every session of a process, as sent over the hand-over connection: chunks of sessions encoded
/// (and decoded) in parallel, each a JSON document (Swift prints doubles as their shortest
/// round-trip decimal, so they come back bit for bit; non-finite ones as strings).
struct SessionHandOver: Sendable {
    static let version = 1
    static let chunkSize = 2048
    var sessions: [SessionSnapshot]

    private struct Chunk: Codable {
        var version = SessionHandOver.version
        var sessions: [SessionSnapshot]
    }

    func encodedChunks() throws -> [[UInt8]] {
        let sessions = self.sessions
        let ranges = stride(from: 0, to: sessions.count, by: Self.chunkSize).map { $0..<min($0 + Self.chunkSize, sessions.count) }
        let out = ParallelResults<[UInt8]>(count: ranges.count)
        DispatchQueue.concurrentPerform(iterations: ranges.count) { i in
            out.set(i, Result {
                let encoder = JSONEncoder()
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                return Array(try encoder.encode(Chunk(sessions: Array(sessions[ranges[i]]))))
            })
        }
        return try out.values()
    }

    static func decode(chunks: [[UInt8]]) throws -> SessionHandOver {
        let out = ParallelResults<[SessionSnapshot]>(count: chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
            out.set(i, Result {
                let decoder = JSONDecoder()
                decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                let chunk = try decoder.decode(Chunk.self, from: Data(chunks[i]))
                guard chunk.version == version else {
                    throw HandOverProtocolError("the predecessor sent sessions in format \(chunk.version); this kato reads \(version)")
                }
                return chunk.sessions
            })
        }
        return SessionHandOver(sessions: try out.values().flatMap { $0 })
    }
}

/// One result per index, filled from `concurrentPerform`'s threads.
private final class ParallelResults<T: Sendable>: @unchecked Sendable {
    // @unchecked: every slot is written once under `lock`, read after the writers finished.
    private var results: [Result<T, any Error>?]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result<T, any Error>) {
        lock.lock()
        results[i] = result
        lock.unlock()
    }
    func values() throws -> [T] { try results.map { try $0!.get() } }
}

extension Session {
    func snapshot(now: ContinuousClock.Instant = .now) -> SessionSnapshot {
        state.withLockedValue { s in
            SessionSnapshot(
                id: id, nodeID: nodeID, isDefault: isDefault, createdAt: createdAt.timeIntervalSince1970,
                metadata: metadata.serializedBytes(), owner: owner, engineState: s.engineState,
                ttlSeconds: Self.seconds(s.ttl), remainingSeconds: max(0, Self.seconds(s.expiresAt - now)), sequence: s.sequence)
        }
    }
}

extension SessionRegistry {
    /// Every live session and default session (the server has stopped taking calls).
    func snapshot() -> SessionHandOver {
        let now = ContinuousClock.now
        let all = state.withLock { Array($0.defaults.values) + Array($0.sessions.values) }
        return SessionHandOver(sessions: all.filter { !$0.isExpired(at: now) }.map { $0.snapshot(now: now) })
    }

    /// Installs the sessions a predecessor handed over (before this server takes calls).
    func install(_ handOver: SessionHandOver) throws {
        var sessions: [Session] = []
        sessions.reserveCapacity(handOver.sessions.count)
        for snap in handOver.sessions {
            let ttl = Duration.nanoseconds(Int64(snap.ttlSeconds * 1e9))
            let session = Session(
                id: snap.id, nodeID: snap.nodeID, isDefault: snap.isDefault, engine: nodes.engine(for: snap.nodeID),
                engineState: snap.engineState, ttl: ttl, metadata: try Google_Protobuf_Struct(serializedBytes: snap.metadata),
                limits: limits, owner: snap.owner, createdAt: Date(timeIntervalSince1970: snap.createdAt))
            session.restore(sequence: snap.sequence, remaining: .nanoseconds(Int64(snap.remainingSeconds * 1e9)))
            sessions.append(session)
        }
        state.withLock { s in
            for session in sessions {
                if session.isDefault { s.defaults[session.nodeID] = session } else { s.sessions[session.id] = session }
            }
        }
    }
}

extension Session {
    /// The subscription sequence and remaining lifetime of a handed-over session.
    fileprivate func restore(sequence: Int64, remaining: Duration) {
        state.withLockedValue { s in
            s.sequence = sequence
            s.expiresAt = .now + remaining
            s.expiresAtWall = Date().addingTimeInterval(Self.seconds(remaining))
        }
    }
}

/// A hand-over that could not go on, said for an operator.
public struct HandOverProtocolError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
