import GRPCH2Core
import KatoProto
import XCTest

@testable import KatoServer

/// kato.v2.SessionService in process: a session's life (create, get, extend, count, delete)
/// and the refusals that change nothing.
final class SessionServiceTests: XCTestCase {
    func testCreateReturnsAKATOShapedSessionThatGetFindsAgain() async throws {
        let kato = try InProcessKato()
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        create.ttlSeconds = 120
        let created = try await kato.ok(Kato_V2_SessionService.createSession, create)
        XCTAssertTrue(created.sessionID.hasPrefix("session-"), created.sessionID)
        XCTAssertEqual(created.nodeID, "n1")
        XCTAssertEqual(created.ttlSeconds, 120)
        XCTAssertEqual(created.stmLength, 0)
        let expiry = try XCTUnwrap(created.expiresAt?.seconds)
        let start = try XCTUnwrap(created.createdAt?.seconds)
        XCTAssertEqual(expiry - start, 120, accuracy: 1)
        var get = Kato_V2_GetSessionRequest()
        get.sessionID = created.sessionID
        let found = try await kato.ok(Kato_V2_SessionService.getSession, get)
        XCTAssertEqual(found.sessionID, created.sessionID)
        XCTAssertEqual(found.nodeID, "n1")
    }

    func testExtendSetsTheNewTTL() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        var extend = Kato_V2_ExtendSessionRequest()
        extend.sessionID = id
        extend.ttlSeconds = 7200
        let extended = try await kato.ok(Kato_V2_SessionService.extendSession, extend)
        XCTAssertEqual(extended.ttlSeconds, 7200)
        let expiry = try XCTUnwrap(extended.expiresAt?.seconds)
        XCTAssertEqual(Double(expiry), Date().timeIntervalSince1970 + 7200, accuracy: 5)
    }

    func testCountIsPerNodeAndDeleteRemovesTheSession() async throws {
        let kato = try InProcessKato()
        let a = try await kato.createSession(node: "n1")
        _ = try await kato.createSession(node: "n1")
        _ = try await kato.createSession(node: "n2")
        var count = Kato_V2_CountSessionsRequest()
        count.nodeID = "n1"
        let before = try await kato.ok(Kato_V2_SessionService.countSessions, count).count
        XCTAssertEqual(before, 2)
        var delete = Kato_V2_DeleteSessionRequest()
        delete.sessionID = a
        let deleted = try await kato.ok(Kato_V2_SessionService.deleteSession, delete)
        XCTAssertEqual(deleted.sessionID, a)
        let after = try await kato.ok(Kato_V2_SessionService.countSessions, count).count
        XCTAssertEqual(after, 1)
        var get = Kato_V2_GetSessionRequest()
        get.sessionID = a
        let (_, gone) = await kato.unary(Kato_V2_SessionService.getSession, get)
        XCTAssertEqual(gone.code, .notFound)
        let (_, again) = await kato.unary(Kato_V2_SessionService.deleteSession, delete)
        XCTAssertEqual(again.code, .notFound, "a second delete finds nothing")
    }

    func testAnInvalidRequestIsInvalidArgumentNamingTheFieldAndCreatesNothing() async throws {
        let kato = try InProcessKato()
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        create.ttlSeconds = -5
        let (_, refused) = await kato.unary(Kato_V2_SessionService.createSession, create)
        XCTAssertEqual(refused.code, .invalidArgument)
        XCTAssertEqual(refused.errorInfo?.reason, "VALIDATION_ERROR")
        var count = Kato_V2_CountSessionsRequest()
        count.nodeID = "n1"
        let sessions = try await kato.ok(Kato_V2_SessionService.countSessions, count).count
        XCTAssertEqual(sessions, 0)
    }
}
