import GRPCH2Core
import KatoProto
import XCTest

@testable import KatoServer

/// kato.v2.ObserveService in process: observations fill a session's short-term memory, Learn
/// turns it into a pattern (KATO's name), clearing empties it, and each session is its own.
final class ObserveServiceTests: XCTestCase {
    func observe(_ kato: InProcessKato, _ id: String, _ strings: [String]) async throws -> Kato_V2_ObserveResponse {
        var request = Kato_V2_ObserveRequest()
        request.sessionID = id
        request.strings = strings
        return try await kato.ok(Kato_V2_ObserveService.observe, request)
    }

    func stm(_ kato: InProcessKato, _ id: String) async throws -> [[String]] {
        var request = Kato_V2_GetShortTermMemoryRequest()
        request.sessionID = id
        return try await kato.ok(Kato_V2_ObserveService.getShortTermMemory, request).events.map(\.symbols)
    }

    func testLearnNamesThePatternAndEmptiesTheShortTermMemory() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        _ = try await observe(kato, id, ["hello"])
        let second = try await observe(kato, id, ["world"])
        XCTAssertEqual(second.stmLength, 2)
        var learn = Kato_V2_LearnRequest()
        learn.sessionID = id
        let learned = try await kato.ok(Kato_V2_ObserveService.learn, learn)
        XCTAssertTrue(learned.patternName.hasPrefix("PTRN|"), learned.patternName)
        XCTAssertEqual(learned.patternName.count, "PTRN|".count + 40, "PTRN| and a SHA-1 in hex")
        let left = try await stm(kato, id)
        XCTAssertEqual(left, [])
        _ = try await observe(kato, id, ["hello"])
        _ = try await observe(kato, id, ["world"])
        let again = try await kato.ok(Kato_V2_ObserveService.learn, learn)
        XCTAssertEqual(again.patternName, learned.patternName, "the same sequence: the same pattern")
    }

    func testLearningFromAnEmptyShortTermMemoryIsRefused() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        var learn = Kato_V2_LearnRequest()
        learn.sessionID = id
        let (_, refused) = await kato.unary(Kato_V2_ObserveService.learn, learn)
        XCTAssertEqual(refused.code, .failedPrecondition)
        XCTAssertEqual(refused.errorInfo?.reason, "EMPTY_STM")
    }

    func testClearingOneSessionLeavesAnotherAsItWas() async throws {
        let kato = try InProcessKato()
        let a = try await kato.createSession()
        let b = try await kato.createSession()
        _ = try await observe(kato, a, ["x"])
        _ = try await observe(kato, b, ["y", "z"])
        var clear = Kato_V2_ClearShortTermMemoryRequest()
        clear.sessionID = a
        _ = try await kato.ok(Kato_V2_ObserveService.clearShortTermMemory, clear)
        let left = try await stm(kato, a)
        let other = try await stm(kato, b)
        XCTAssertEqual(left, [])
        XCTAssertEqual(other, [["y", "z"]])
    }

    func testAnObservationForAnUnknownSessionIsNotFoundAndCreatesNothing() async throws {
        let kato = try InProcessKato()
        var request = Kato_V2_ObserveRequest()
        request.sessionID = "session-00000000000000000000000000000000-1"
        request.strings = ["x"]
        let (_, refused) = await kato.unary(Kato_V2_ObserveService.observe, request)
        XCTAssertEqual(refused.code, .notFound)
        var count = Kato_V2_CountSessionsRequest()
        count.nodeID = "n1"
        let sessions = try await kato.ok(Kato_V2_SessionService.countSessions, count).count
        XCTAssertEqual(sessions, 0)
    }
}
