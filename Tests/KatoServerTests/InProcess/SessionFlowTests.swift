import GRPCH2
import KatoProto
import XCTest

@testable import KatoServer

/// kato.v2's services in process (no sockets): a session's life, and the status every error
/// gets at the edge, with the call's trace id.
final class SessionFlowTests: XCTestCase {
    func testAnObservationLandsInTheSessionsShortTermMemoryAndADeletedSessionIsNotFound() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        var observe = Kato_V2_ObserveRequest()
        observe.sessionID = id
        observe.strings = ["b", "a"]
        let observed = try await kato.ok(Kato_V2_ObserveService.observe, observe)
        XCTAssertEqual(observed.stmLength, 1)
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = id
        let stm = try await kato.ok(Kato_V2_ObserveService.getShortTermMemory, read)
        XCTAssertEqual(stm.events.map(\.symbols), [["a", "b"]], "KATO sorts an event's symbols")
        var delete = Kato_V2_DeleteSessionRequest()
        delete.sessionID = id
        _ = try await kato.ok(Kato_V2_SessionService.deleteSession, delete)
        let (_, gone) = await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read)
        XCTAssertEqual(gone.code, .notFound)
        XCTAssertEqual(gone.errorInfo?.reason, "SESSION_NOT_FOUND")
    }

    func testAnErrorsStatusCarriesTheTraceIDTheCallReturnsInItsTrailer() async throws {
        let kato = try InProcessKato()
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = "no-such-session"
        let (_, outcome) = await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read)
        XCTAssertEqual(outcome.code, .notFound)
        let trailer = try XCTUnwrap(outcome.trailingMetadata.firstString(forKey: "x-trace-id"))
        XCTAssertEqual(trailer.count, 32)
        XCTAssertEqual(outcome.errorInfo?.metadata["trace_id"], trailer, "mapped once at the edge, with the context's trace id")
        XCTAssertEqual(outcome.errorInfo?.domain, "kato.v2")
    }

    func testAClientsTraceparentBecomesTheCallsTraceID() async throws {
        let kato = try InProcessKato()
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = "missing"
        let (_, outcome) = await kato.unary(
            Kato_V2_ObserveService.getShortTermMemory, read, metadata: Metadata([("traceparent", "00-\(trace)-00f067aa0ba902b7-01")]))
        XCTAssertEqual(outcome.trailingMetadata.firstString(forKey: "x-trace-id"), trace)
        XCTAssertEqual(outcome.errorInfo?.metadata["trace_id"], trace)
    }

    func testAnInvalidRequestIsInvalidArgumentWithItsFieldAndChangesNothing() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        var observe = Kato_V2_ObserveRequest()
        observe.sessionID = id
        observe.emotives = ["joy": .nan]
        let (_, outcome) = await kato.unary(Kato_V2_ObserveService.observe, observe)
        XCTAssertEqual(outcome.code, .invalidArgument)
        XCTAssertEqual(outcome.errorInfo?.reason, "VALIDATION_ERROR")
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = id
        let stm = try await kato.ok(Kato_V2_ObserveService.getShortTermMemory, read)
        XCTAssertEqual(stm.length, 0)
    }

    func testWithoutInterceptorsKatoErrorsStillBecomeTheirStatusAtTheTransportsEdge() async throws {
        let kato = try InProcessKato { $0.interceptorsDisabled = true }
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = "missing"
        let (_, outcome) = await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read)
        XCTAssertEqual(outcome.code, .notFound)
        XCTAssertEqual(outcome.errorInfo?.reason, "SESSION_NOT_FOUND")
        XCTAssertNil(outcome.trailingMetadata.firstString(forKey: "x-trace-id"), "no trace interceptor, no trace id")
    }
}
