import Foundation
import KatoEngine
import KatoProto
import ProtobufCBridge
import Testing
@testable import KatoServer

/// Sessions through the hand-over format: what a successor installs equals what the predecessor
/// had (engine state bit for bit, TTL, sequence, owner, metadata, default sessions).
@Suite struct SessionHandOverTests {
    /// Sent as a predecessor streams it, received as a successor decodes it.
    func travel(_ sessions: SessionHandOver, format: Int) throws -> (chunks: Int, received: SessionHandOver) {
        let decoder = SessionHandOver.StreamingDecoder(chunks: sessions.chunkCount, format: format)
        var chunks = 0
        try sessions.streamChunks(format: format) { chunk in
            chunks += 1
            decoder.add(chunk)
        }
        return (chunks, try decoder.finish())
    }

    func registryWithSessions() throws -> (SessionRegistry, Session) {
        let registry = SessionRegistry(nodes: NodeRegistry())
        var config = ConfigUpdate()
        config.recallThreshold = 0.1 + 0.2  // not a short decimal: must come back bit for bit
        config.maxPredictions = 7
        var metadata = Google_Protobuf_Struct()
        var value = Google_Protobuf_Value()
        value.stringValue = "v"
        metadata.fields["k"] = value
        let session = try registry.create(nodeID: "n", ttlSeconds: 120, config: config, metadata: metadata, owner: "alice")
        for strings in [["a", "b"], ["c"]] {
            _ = try session.mutate { engine, state in
                try engine.observe(Observation(strings: strings, emotives: ["joy": 1.0 / 3.0, "odd": -0.0]), in: &state)
                return ((), .observe)
            }
        }
        let defaultSession = try registry.resolve(sessionID: "", nodeID: "m")
        _ = try defaultSession.mutate { engine, state in
            try engine.observe(Observation(strings: ["d"]), in: &state)
            return ((), .observe)
        }
        return (registry, session)
    }

    @Test(arguments: SessionHandOver.formats) func everySessionArrivesAsItWas(format: Int) throws {
        let (registry, session) = try registryWithSessions()
        let sent = registry.snapshot()
        #expect(sent.sessions.count == 2)
        let received = try travel(sent, format: format).received
        #expect(received.sessions == sent.sessions)

        let successor = SessionRegistry(nodes: NodeRegistry())
        try successor.install(received)
        let moved = try successor.session(id: session.id)
        #expect(moved.owner == "alice")
        #expect(moved.metadata == session.metadata)
        #expect(moved.createdAt.timeIntervalSince1970 == session.createdAt.timeIntervalSince1970)
        let (before, after) = (session.stored(), moved.stored())
        #expect(after.engineState.stm == before.engineState.stm)
        #expect(after.engineState.config == before.engineState.config)
        #expect(after.engineState.config.recallThreshold.bitPattern == (0.1 + 0.2).bitPattern)
        #expect(after.engineState.emotivesAccumulator == before.engineState.emotivesAccumulator)
        #expect(after.engineState.emotivesAccumulator.first?["odd"]?.sign == .minus)
        #expect(after.sequence == 2 && after.ttl == .seconds(120))
        let defaultSession = try successor.resolve(sessionID: "", nodeID: "m")
        #expect(defaultSession.stored().engineState.stm == [["d"]])
        #expect(successor.count(nodeID: nil) == 1)
    }

    @Test(arguments: SessionHandOver.formats) func manySessionsTravelInSeveralChunksInOrder(format: Int) throws {
        let registry = SessionRegistry(nodes: NodeRegistry())
        for _ in 0..<(SessionHandOver.chunkSize * 2 + 5) {
            _ = try registry.create(nodeID: "n", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        }
        let sent = registry.snapshot()
        let (chunks, received) = try travel(sent, format: format)
        #expect(chunks == 3)
        #expect(received.sessions.map(\.id) == sent.sessions.map(\.id))
    }

    @Test func theNewestFormatBothSidesReadIsChosen() {
        #expect(SessionHandOver.format(for: SessionHandOver.formats) == SessionHandOver.binary)
        #expect(SessionHandOver.format(for: nil) == SessionHandOver.json, "a release before negotiation reads JSON only")
        #expect(SessionHandOver.format(for: [1, 2, 9]) == SessionHandOver.binary)
        #expect(SessionHandOver.format(for: [9]) == nil)
    }

    @Test func anotherFormatVersionIsRefused() throws {
        let json = #"{"version": 99, "sessions": []}"#
        #expect(throws: HandOverProtocolError.self) { _ = try SessionHandOver.decode(Array(json.utf8), format: SessionHandOver.json) }
        #expect(throws: HandOverProtocolError.self) { _ = try SessionHandOver.decode([99, 0], format: SessionHandOver.binary) }
    }

    @Test func aTruncatedOrPaddedBinaryChunkIsAnErrorNotACrash() throws {
        let (registry, _) = try registryWithSessions()
        let chunk = try SessionHandOver.encode(registry.snapshot().sessions[...], format: SessionHandOver.binary)
        for cut in stride(from: 0, to: chunk.count, by: 7) {
            #expect(throws: (any Error).self) { _ = try SessionHandOver.decode(Array(chunk[..<cut]), format: SessionHandOver.binary) }
        }
        #expect(throws: BinaryFormatError.self) { _ = try SessionHandOver.decode(chunk + [0], format: SessionHandOver.binary) }
    }
}
