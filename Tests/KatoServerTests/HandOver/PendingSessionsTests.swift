import Foundation
import KatoEngine
import KatoProto
import ProtobufCBridge
import Testing
@testable import KatoServer

/// Sessions announced by a predecessor's index but not yet arrived (a restart by hand-over): a
/// call for one waits for its own chunk only, within its bound, and never finds it missing.
@Suite struct PendingSessionsTests {
    @Test func theIndexTravelsInOrder() throws {
        let ids = ["default:n", "session-a", "session-ü", ""] + (0..<3000).map { "session-\($0)" }
        #expect(try SessionHandOver.decodeIndex(SessionHandOver.encodeIndex(ids)) == ids)
        #expect(throws: (any Error).self) { try SessionHandOver.decodeIndex(SessionHandOver.encodeIndex(ids) + [0]) }
        #expect(throws: (any Error).self) { try SessionHandOver.decodeIndex(Array(SessionHandOver.encodeIndex(ids).dropLast())) }
    }

    @Test func defaultSessionsGoFirstThenTheMostRecentlyUsed() throws {
        let registry = SessionRegistry(nodes: NodeRegistry())
        let old = try registry.create(nodeID: "n", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        let middle = try registry.create(nodeID: "n", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        let fresh = try registry.create(nodeID: "n", ttlSeconds: 60, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        let defaultSession = try registry.resolve(sessionID: "", nodeID: "m")
        Thread.sleep(forTimeInterval: 0.01)
        _ = try registry.session(id: old.id)  // touched last
        let order = registry.liveInHandOverOrder(at: .now).map(\.id)
        #expect(order == [defaultSession.id, old.id, fresh.id, middle.id])
    }

    @Test func aCallWaitsForItsOwnChunkOnly() async throws {
        let pending = PendingSessions()
        pending.expect(ids: ["a", "b", "c"], chunkSize: 2, wait: .seconds(30))
        #expect(pending.isActive && pending.count == 3)
        try await pending.wait(for: "never-announced", deadline: nil)  // at once: looked up as usual
        async let waitingForC: Void = pending.wait(for: "c", deadline: nil)
        while pending.waitingCalls == 0 { await Task.yield() }
        pending.arrived(chunk: 1, ids: ["c"])
        try await waitingForC
        #expect(pending.count == 2 && pending.isActive)
        pending.arrived(chunk: 0, ids: ["a", "b"])
        #expect(!pending.isActive && pending.count == 0)
        try await pending.wait(for: "a", deadline: nil)
        try await pending.waitForAll(deadline: nil)
    }

    @Test func pastTheBoundACallGetsUnavailableAndPastItsDeadlineDeadlineExceeded() async throws {
        let pending = PendingSessions()
        pending.expect(ids: ["a"], chunkSize: 2, wait: .milliseconds(50))
        await #expect(throws: KatoError.unavailable(reason: "SESSION_HANDOVER_PENDING",
                                                    message: "session 'a' still on the way from the previous server process (restart by hand-over); retry")) {
            try await pending.wait(for: "a", deadline: nil)
        }
        await #expect(throws: KatoError.deadlineExceeded) {
            try await pending.wait(for: "a", deadline: .now + .milliseconds(10))
        }
        #expect(pending.isActive, "a timed-out wait changes nothing")
    }

    @Test func aBrokenHandOverReleasesEveryWaitingCallWithUnavailable() async throws {
        let pending = PendingSessions()
        pending.expect(ids: ["a", "b"], chunkSize: 1, wait: .seconds(30))
        async let waiting: Void = pending.wait(for: "b", deadline: nil)
        while pending.waitingCalls == 0 { await Task.yield() }
        pending.arrived(chunk: 0, ids: ["a"])
        pending.fail("hand-over peer closed the connection")
        do {
            try await waiting
            Issue.record("a call for a session that never arrived went on")
        } catch let error as KatoError {
            #expect(error.reason == "SESSION_HANDOVER_FAILED")
        }
        #expect(!pending.isActive && pending.count == 0)
        try await pending.wait(for: "b", deadline: nil)  // later calls: looked up as usual (NOT_FOUND)
    }

    @Test func registryCountsArrivingSessionsAgainstTheLimitAndInHealth() throws {
        var configuration = SessionRegistry.Configuration()
        configuration.maxSessions = 3
        let registry = SessionRegistry(configuration: configuration, nodes: NodeRegistry())
        registry.pending.expect(ids: ["x", "y"], chunkSize: 2048, wait: .seconds(1))
        _ = try registry.create(nodeID: "n", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        #expect(registry.count(nodeID: nil) == 3)
        #expect(throws: KatoError.tooManySessions(limit: 3)) {
            try registry.create(nodeID: "n", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
        }
    }
}
