import Foundation
import KatoEngine
import KatoProto
import ProtobufCBridge
import Testing
@testable import KatoServer

/// The predecessor's side of a hand-over stops taking changes before the copy leaves: a call cut
/// off at shutdown that still runs (past `GRPCServer.shutdown`'s bounded wait) finds its session
/// sealed, so the session the successor serves is what that call did, or it did nothing.
@Suite struct SessionRegistryHandOverTests {
    func observe(_ session: Session, _ symbol: String) throws {
        _ = try session.mutate { engine, state in
            try engine.observe(Observation(strings: [symbol]), in: &state)
            return ((), .observe)
        }
    }

    @Test func aChangeAfterTheHandOverSnapshotIsRefusedSoTheSnapshotStaysTheSessionsLastState() throws {
        let registry = SessionRegistry(nodes: NodeRegistry())
        let session = try registry.create(nodeID: "n", ttlSeconds: 60, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        try observe(session, "a")
        registry.sealForHandOver()
        let sent = session.snapshot(sealing: true)
        #expect(throws: KatoError.handedOver) { try observe(session, "b") }
        #expect(throws: KatoError.handedOver) { try session.mutateStepwise { engine, state, _, _ in engine.clearSTM(in: &state) } }
        #expect(session.stored().engineState.stm == sent.engineState.stm)
        #expect(session.stored().sequence == sent.sequence)
        #expect(session.stored().engineState.stm.count == 1)
    }

    @Test func aSnapshotThatDoesNotSealLeavesTheSessionWritable() throws {
        let registry = SessionRegistry(nodes: NodeRegistry())
        let session = try registry.create(nodeID: "n", ttlSeconds: 60, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        try observe(session, "a")
        _ = session.snapshot()
        try observe(session, "b")
        #expect(session.stored().engineState.stm.count == 2)
    }

    @Test func afterTheSealNoSessionIsCreatedOrDeletedButExistingOnesStillResolve() throws {
        let registry = SessionRegistry(nodes: NodeRegistry())
        let kept = try registry.create(nodeID: "n", ttlSeconds: 60, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        let defaultSession = try registry.resolve(sessionID: "", nodeID: "n")
        registry.sealForHandOver()
        #expect(throws: KatoError.handedOver) {
            try registry.create(nodeID: "n", ttlSeconds: 60, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        }
        #expect(throws: KatoError.handedOver) { try registry.delete(id: kept.id) }
        #expect(throws: KatoError.handedOver) { try registry.resolve(sessionID: "", nodeID: "other") }
        #expect(try registry.session(id: kept.id) === kept)
        #expect(try registry.resolve(sessionID: "", nodeID: "n") === defaultSession)
        #expect(registry.live(at: .now).count == 2, "what the hand-over lists: the sessions from before the seal, no more, no fewer")
    }
}
