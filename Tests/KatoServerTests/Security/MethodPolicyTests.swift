import GRPCH2
import KatoProto
import ProtobufCBridge
import XCTest

@testable import KatoServer

/// Who may call what (`MethodPolicy`, `SessionAccess`), in process: each principal of
/// `InProcessKato.keys` against methods of each least role.
final class MethodPolicyTests: XCTestCase {
    func testEachRoleReachesExactlyTheMethodsItsRoleAllows() async throws {
        let kato = try await InProcessKato.withKeys()
        let session = try await kato.createSession(metadata: InProcessKato.key("writer"))
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = session
        var observe = Kato_V2_ObserveRequest()
        observe.sessionID = session
        observe.strings = ["x"]
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        var clearAll = Kato_V2_ClearAllMemoryRequest()
        clearAll.sessionID = session
        // principal → (read STM, observe, create session, clear all memory)
        let expected: [String: [StatusCode]] = [
            "reader": [.ok, .permissionDenied, .permissionDenied, .permissionDenied],
            "writer": [.ok, .ok, .ok, .permissionDenied],
            "admin": [.ok, .ok, .ok, .ok],
        ]
        for (principal, codes) in expected.sorted(by: { $0.key < $1.key }) {
            let key = InProcessKato.key(principal)
            let got = [
                await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read, metadata: key).outcome.code,
                await kato.unary(Kato_V2_ObserveService.observe, observe, metadata: key).outcome.code,
                await kato.unary(Kato_V2_SessionService.createSession, create, metadata: key).outcome.code,
                await kato.unary(Kato_V2_ObserveService.clearAllMemory, clearAll, metadata: key).outcome.code,
            ]
            XCTAssertEqual(got.map(\.name), codes.map(\.name), principal)
        }
    }

    func testACallWithoutCredentialsIsUnauthenticatedAndAWrongKeyToo() async throws {
        let kato = try await InProcessKato.withKeys()
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        let (_, missing) = await kato.unary(Kato_V2_SessionService.createSession, create)
        XCTAssertEqual(missing.code, .unauthenticated)
        let (_, wrong) = await kato.unary(Kato_V2_SessionService.createSession, create, metadata: Metadata([("x-api-key", "nope")]))
        XCTAssertEqual(wrong.code, .unauthenticated)
    }

    func testAPrincipalSeesNoSessionOnANodeItMayNotUse() async throws {
        let kato = try await InProcessKato.withKeys()
        let session = try await kato.createSession(metadata: InProcessKato.key("writer"))
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = session
        let (_, outcome) = await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read, metadata: InProcessKato.key("other"))
        XCTAssertEqual(outcome.code, .notFound, "a session on another node is not revealed")
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        let (_, named) = await kato.unary(Kato_V2_SessionService.createSession, create, metadata: InProcessKato.key("other"))
        XCTAssertEqual(named.code, .permissionDenied)
    }

    func testHealthStaysOpenWithAuthenticationOn() async throws {
        let kato = try await InProcessKato.withKeys()
        let outcome = await kato.transport.call(path: "/grpc.health.v1.Health/Check", requests: [Grpc_Health_V1_HealthCheckRequest().serializedBytes()])
        XCTAssertNotEqual(outcome.code, .unauthenticated)
    }
}
