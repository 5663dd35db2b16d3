import KatoEngine
import KatoProto
import ProtobufCBridge
import XCTest

@testable import KatoServer
import KatoSupport
import KatoWire

/// `PredictionUpdateEncoder` writes the message `Session.update` builds, and
/// `PredictionsResponseEncoder` the `GetPredictionsResponse` the proto structs give: compared
/// byte for byte and field by field after decoding, on states the real engine produced from
/// random knowledge bases (compact predictions, read in place by the encoders).
final class PredictionUpdateEncoderTests: XCTestCase {
    private func assertEncodesLikeTheProtoStructs(_ state: SessionState, sequence: Int64, cause: Kato_V2_UpdateCause,
                                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = Session.update(id: "s-1", sequence: sequence, cause: cause, state: state)
        let bytes = PredictionUpdateEncoder.encode(id: "s-1", sequence: sequence, cause: cause, state: state)
        let decoded = try Kato_V2_PredictionUpdate(serializedBytes: bytes)
        XCTAssertEqual(decoded, expected, file: file, line: line)
        // Byte for byte what protobuf-c writes from the proto structs (fields by number, map keys sorted).
        XCTAssertEqual(bytes, expected.serializedBytes(), file: file, line: line)
        // GetPredictions' response, written the same way from the same (compact) predictions.
        var response = Kato_V2_GetPredictionsResponse()
        response.sessionID = "s-1"
        response.predictions = state.predictions.map(Convert.prediction)
        response.futurePotentials = state.futurePotentials.map(Convert.futurePotential)
        response.count = Int64(state.predictions.count)
        let written = PredictionsResponseEncoder.encode(
            sessionID: "s-1", predictions: state.predictions, futurePotentials: state.futurePotentials)
        XCTAssertEqual(written, response.serializedBytes(), file: file, line: line)
        XCTAssertEqual(try Kato_V2_GetPredictionsResponse(serializedBytes: written), response, file: file, line: line)
    }

    func testAnEmptySessionEncodesLikeTheProtoStructs() throws {
        try assertEncodesLikeTheProtoStructs(try SessionState(), sequence: 0, cause: .initial)
        try assertEncodesLikeTheProtoStructs(try SessionState(), sequence: 1 << 40, cause: .gap)
    }

    /// Events and STMs longer than 64 symbols reach the encoders in several pieces per event (the
    /// engine's per-event readers): each event still gets one head, with its whole length.
    func testEventsLongerThan64SymbolsEncodeLikeTheProtoStructs() throws {
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var learner = try SessionState()
        for event in [["a", "b"], (0..<150).map { "p\($0)" }, ["z"] + (0..<70).map { "f\($0)" }, ["q", "é"]] {
            try engine.observe(Observation(strings: event), in: &learner)
        }
        engine.learn(in: &learner)
        var session = try SessionState()
        try engine.observe(Observation(strings: ["a"]), in: &session)
        try engine.observe(Observation(strings: (0..<140).map { $0 % 3 == 0 ? "x\($0)" : "p\($0)" }), in: &session)
        let p = try XCTUnwrap(session.predictions.first)
        XCTAssertGreaterThan(p.missing.last?.count ?? 0, 50)  // spread over 150 positions: bits in three words
        XCTAssertGreaterThan(p.present.last?.count ?? 0, 64)
        XCTAssertGreaterThan(session.futurePotentials.first?.future.first?.count ?? 0, 64)
        try assertEncodesLikeTheProtoStructs(session, sequence: 3, cause: .observe)
    }

    func testEveryStepOverRandomKnowledgeBasesEncodesLikeTheProtoStructs() throws {
        var rng = SplitMix64(state: 15)
        var predictionsSeen = 0, potentialsSeen = 0, emotivesSeen = 0
        for round in 0..<6 {
            let engine = KatoEngine(knowledgeBase: KnowledgeBase())
            var learner = try SessionState()
            let vocabulary = 5 + round * 4
            for _ in 0..<(20 + round * 10) {
                for _ in 0..<(2 + rng.below(3)) {
                    let symbols = (0..<(1 + rng.below(3))).map { _ in "v\(rng.below(vocabulary))" }
                    let emotives: [String: Double] = rng.below(3) == 0 ? ["joy": Double(rng.below(9)) - 4, "fear": 0.25] : [:]
                    try engine.observe(Observation(strings: symbols, emotives: emotives), in: &learner)
                }
                engine.learn(in: &learner)
            }
            var session = try SessionState()
            for step in 0..<12 {
                let symbols = (0..<(1 + rng.below(2))).map { _ in "v\(rng.below(vocabulary))" }
                try engine.observe(Observation(strings: symbols), in: &session)
                predictionsSeen += session.predictions.count
                potentialsSeen += session.futurePotentials.count
                emotivesSeen += session.predictions.filter { !$0.emotives.isEmpty }.count
                try assertEncodesLikeTheProtoStructs(session, sequence: Int64(step + 1), cause: .observe)
            }
        }
        // The comparison covered what it is about.
        XCTAssertGreaterThan(predictionsSeen, 100)
        XCTAssertGreaterThan(potentialsSeen, 20)
        XCTAssertGreaterThan(emotivesSeen, 5)
    }
}
