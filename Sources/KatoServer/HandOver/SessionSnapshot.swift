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

/// Every session of a process, as sent over the hand-over connection: chunks of `chunkSize`
/// sessions, encoded and decoded in parallel and streamed (the predecessor sends a chunk as soon
/// as it is encoded, the successor decodes each as it arrives).
///
/// Formats (the successor says which it reads in its hello, the predecessor sends the newest both
/// know, so a hand-over works both ways between this release and the one before):
/// - 1: a JSON document per chunk, `SessionSnapshot`'s Codable form (Swift prints doubles as their
///   shortest round-trip decimal, so they come back bit for bit; non-finite ones as strings);
/// - 2: binary (`BinaryWriter`; `SessionState+Binary.swift`): a varint format number, a count,
///   then each session's fields in a fixed order — no field names, no number printing or parsing.
struct SessionHandOver: Sendable {
    static let json = 1
    static let binary = 2
    /// The formats this release reads and writes, oldest first.
    static let formats = [json, binary]
    static let chunkSize = 2048
    var sessions: [SessionSnapshot]

    /// The format to send to a successor that reads `theirs` (nil: a release before format
    /// negotiation, which reads JSON only); nil when none is shared.
    static func format(for theirs: [Int]?) -> Int? {
        (theirs ?? [json]).filter(formats.contains).max()
    }

    var chunkCount: Int { Self.chunkCount(sessions.count) }
    static func chunkCount(_ sessions: Int) -> Int { (sessions + chunkSize - 1) / chunkSize }

    /// Encodes the chunks in parallel and hands each to `send` in order, as soon as it and the ones
    /// before it are encoded (on the calling thread).
    func streamChunks(format: Int, _ send: ([UInt8]) throws -> Void) throws {
        try Self.streamChunks(of: sessions, format: format, snapshot: { $0 }, send)
    }

    /// The same from any list (live sessions: each is snapshotted by the worker that encodes
    /// its chunk, so snapshots are taken in parallel too).
    static func streamChunks<Item: Sendable>(
        of items: [Item], format: Int, snapshot: @escaping @Sendable (Item) -> SessionSnapshot, _ send: ([UInt8]) throws -> Void
    ) throws {
        let count = chunkCount(items.count)
        let out = ParallelResults<[UInt8]>(count: count)
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: count) { i in
                let range = i * chunkSize..<min((i + 1) * chunkSize, items.count)
                out.set(i, Result { try encode(items[range].map(snapshot)[...], format: format) })
            }
        }
        for i in 0..<count { try send(try out.wait(i).get()) }
    }

    static func encode(_ sessions: ArraySlice<SessionSnapshot>, format: Int) throws -> [UInt8] {
        if format == json {
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return Array(try encoder.encode(Chunk(version: json, sessions: Array(sessions))))
        }
        var w = BinaryWriter(capacity: sessions.count * 256)
        w.count(binary)
        w.count(sessions.count)
        for s in sessions { s.encode(into: &w) }
        return w.bytes
    }

    static func decode(_ chunk: [UInt8], format: Int) throws -> [SessionSnapshot] {
        if format == json {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let decoded = try decoder.decode(Chunk.self, from: Data(chunk))
            guard decoded.version == json else {
                throw HandOverProtocolError("the predecessor sent sessions in format \(decoded.version); this kato reads \(formats)")
            }
            return decoded.sessions
        }
        var r = BinaryReader(chunk)
        let version = try r.varint()
        guard version == UInt64(binary) else {
            throw HandOverProtocolError("the predecessor sent sessions in format \(version); this kato reads \(formats)")
        }
        let n = try r.count()
        var out: [SessionSnapshot] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try SessionSnapshot(decoding: &r)) }
        guard r.isAtEnd else { throw BinaryFormatError("\(chunk.count - r.offset) bytes after the last session") }
        return out
    }

    /// A decoder of chunks as they arrive: each is decoded on a worker thread while the next is
    /// received; `finish()` waits for them all.
    final class StreamingDecoder: @unchecked Sendable {
        // @unchecked: `results` is thread-safe; `group`, `format` and `next` are used by the one
        // receiving thread.
        private let results: ParallelResults<[SessionSnapshot]>
        private let group = DispatchGroup()
        private let format: Int
        private var next = 0

        init(chunks: Int, format: Int) {
            results = ParallelResults(count: chunks)
            self.format = format
        }

        func add(_ chunk: [UInt8]) {
            let (i, format, results) = (next, self.format, self.results)
            next += 1
            DispatchQueue.global().async(group: group) { results.set(i, Result { try SessionHandOver.decode(chunk, format: format) }) }
        }

        func finish() throws -> SessionHandOver {
            group.wait()
            return SessionHandOver(sessions: try results.values().flatMap { $0 })
        }
    }

    private struct Chunk: Codable {
        var version: Int
        var sessions: [SessionSnapshot]
    }
}

extension SessionSnapshot {
    func encode(into w: inout BinaryWriter) {
        w.string(id)
        w.string(nodeID)
        w.bool(isDefault)
        w.double(createdAt)
        w.byteArray(metadata)
        w.bool(owner != nil)
        if let owner { w.string(owner) }
        engineState.encode(into: &w)
        w.double(ttlSeconds)
        w.double(remainingSeconds)
        w.int(Int(sequence))
    }

    init(decoding r: inout BinaryReader) throws(BinaryFormatError) {
        id = try r.string()
        nodeID = try r.string()
        isDefault = try r.bool()
        createdAt = try r.double()
        metadata = try r.byteArray()
        owner = try r.bool() ? try r.string() : nil
        engineState = try SessionState(decoding: &r)
        ttlSeconds = try r.double()
        remainingSeconds = try r.double()
        sequence = Int64(try r.int())
    }
}

/// One result per index, filled from worker threads; `wait(i)` blocks until slot i is.
final class ParallelResults<T: Sendable>: @unchecked Sendable {
    // @unchecked: every slot is written once under `condition`'s lock and read under it.
    private var results: [Result<T, any Error>?]
    private let condition = NSCondition()
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result<T, any Error>) {
        condition.lock()
        results[i] = result
        condition.broadcast()
        condition.unlock()
    }
    func wait(_ i: Int) -> Result<T, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while results[i] == nil { condition.wait() }
        return results[i]!
    }
    /// Every slot, once all are set.
    func values() throws -> [T] {
        condition.lock()
        defer { condition.unlock() }
        return try results.map { try $0!.get() }
    }
}

extension Session {
    func snapshot(now: ContinuousClock.Instant = .now) -> SessionSnapshot {
        state.withLockedValue { s in
            SessionSnapshot(
                id: id, nodeID: nodeID, isDefault: isDefault, createdAt: createdAt.timeIntervalSince1970,
                metadata: metadata.fields.isEmpty ? [] : metadata.serializedBytes(), owner: owner, engineState: s.engineState,
                ttlSeconds: Self.seconds(s.ttl), remainingSeconds: max(0, Self.seconds(s.expiresAt - now)), sequence: s.sequence)
        }
    }
}

extension SessionRegistry {
    /// Every live session and default session (the server has stopped taking calls).
    func snapshot() -> SessionHandOver {
        let now = ContinuousClock.now
        return SessionHandOver(sessions: live(at: now).map { $0.snapshot(now: now) })
    }

    /// Every session and default session not expired at `now`.
    func live(at now: ContinuousClock.Instant) -> [Session] {
        let all = state.withLock { Array($0.defaults.values) + Array($0.sessions.values) }
        return all.filter { !$0.isExpired(at: now) }
    }

    /// Installs the sessions a predecessor handed over (before this server takes calls). Linear in
    /// the sessions (`SessionHandOverScalingTests`: the same µs per session at 10,000 and 100,000):
    /// each node's engine is looked up once, not once per session under `NodeRegistry`'s lock; the
    /// `Session`s are built in parallel, a chunk per worker; the dictionary is sized once and
    /// filled under one lock.
    func install(_ handOver: SessionHandOver) throws {
        try install(handOver.sessions[...])
    }

    /// The same for some sessions (a chunk, while the server serves: `receive(_:wait:logger:)`).
    /// `received`: when the hand-over's sessions were received — their remaining lifetimes count
    /// from it, whichever chunk they came in, so the sessions keep their order of last use.
    func install(_ snaps: ArraySlice<SessionSnapshot>, received: ContinuousClock.Instant = .now) throws {
        var engineOf: [String: KatoEngine] = [:]
        for snap in snaps where engineOf[snap.nodeID] == nil { engineOf[snap.nodeID] = nodes.engine(for: snap.nodeID) }
        let (engines, limits) = (engineOf, self.limits)
        let chunk = SessionHandOver.chunkSize
        let count = SessionHandOver.chunkCount(snaps.count)
        let base = snaps.startIndex
        let built = ParallelResults<[Session]>(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            built.set(i, Result {
                try snaps[base + i * chunk..<base + min((i + 1) * chunk, snaps.count)].map {
                    try Session(handedOver: $0, engine: engines[$0.nodeID]!, limits: limits, received: received)
                }
            })
        }
        let sessions = try built.values()
        state.withLock { s in
            s.sessions.reserveCapacity(s.sessions.count + snaps.count)
            for session in sessions.joined() {
                if session.isDefault { s.defaults[session.nodeID] = session } else { s.sessions[session.id] = session }
            }
        }
    }
}

extension Session {
    /// A handed-over session as it was: engine state, TTL and the lifetime it had left, sequence.
    convenience init(handedOver snap: SessionSnapshot, engine: KatoEngine, limits: Limits, received: ContinuousClock.Instant = .now) throws {
        // Most sessions carry no metadata: no protobuf decoding for them.
        let metadata = snap.metadata.isEmpty ? Google_Protobuf_Struct() : try Google_Protobuf_Struct(serializedBytes: snap.metadata)
        self.init(
            id: snap.id, nodeID: snap.nodeID, isDefault: snap.isDefault, engine: engine, engineState: snap.engineState,
            ttl: .nanoseconds(Int64(snap.ttlSeconds * 1e9)), metadata: metadata, limits: limits, owner: snap.owner,
            createdAt: Date(timeIntervalSince1970: snap.createdAt))
        restore(sequence: snap.sequence, remaining: .nanoseconds(Int64(snap.remainingSeconds * 1e9)), from: received)
    }
}

extension Session {
    /// The subscription sequence and remaining lifetime of a handed-over session.
    fileprivate func restore(sequence: Int64, remaining: Duration, from received: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        state.withLockedValue { s in
            s.sequence = sequence
            s.expiresAt = received + remaining
            s.expiresAtWall = Date().addingTimeInterval(Self.seconds(received + remaining - now))
        }
    }
}

/// A hand-over that could not go on, said for an operator.
public struct HandOverProtocolError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
