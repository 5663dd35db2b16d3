import GRPCH2Core
import KatoProto
import XCTest

@testable import KatoServer

/// kato.v2.PredictService in process: after a sequence is learned, observing its start predicts
/// the rest (KATO's matches, future), and a session that knows nothing predicts nothing.
final class PredictServiceTests: XCTestCase {
    func observe(_ kato: InProcessKato, _ id: String, _ strings: [String]) async throws {
        var request = Kato_V2_ObserveRequest()
        request.sessionID = id
        request.strings = strings
        _ = try await kato.ok(Kato_V2_ObserveService.observe, request)
    }

    func predictions(_ kato: InProcessKato, _ id: String) async throws -> Kato_V2_GetPredictionsResponse {
        var request = Kato_V2_GetPredictionsRequest()
        request.sessionID = id
        return try await kato.ok(Kato_V2_PredictService.getPredictions, request)
    }

    func testALearnedSequencesStartPredictsItsFuture() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        for s in ["a", "b", "c"] { try await observe(kato, id, [s]) }
        var learn = Kato_V2_LearnRequest()
        learn.sessionID = id
        let name = try await kato.ok(Kato_V2_ObserveService.learn, learn).patternName
        try await observe(kato, id, ["a"])
        try await observe(kato, id, ["b"])
        let response = try await predictions(kato, id)
        XCTAssertEqual(response.sessionID, id)
        let prediction = try XCTUnwrap(response.predictions.first { "PTRN|" + $0.name == name || $0.name == name })
        XCTAssertEqual(prediction.matches, ["a", "b"])
        XCTAssertEqual(prediction.future.map(\.symbols), [["c"]])
        XCTAssertGreaterThan(prediction.similarity, 0)
        XCTAssertEqual(response.count, Int64(response.predictions.count))
    }

    func testASessionThatKnowsNothingPredictsNothing() async throws {
        let kato = try InProcessKato()
        let id = try await kato.createSession()
        try await observe(kato, id, ["a"])
        try await observe(kato, id, ["b"])
        let response = try await predictions(kato, id)
        XCTAssertEqual(response.predictions.count, 0)
    }
}
