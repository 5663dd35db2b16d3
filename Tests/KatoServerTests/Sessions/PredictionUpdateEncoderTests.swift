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

    private func assertResponseEncodesLikeTheProtoStructs(_ predictions: [Prediction], _ futurePotentials: [FuturePotential],
                                                          file: StaticString = #filePath, line: UInt = #line) {
        assertResponseEncodesLikeTheProtoStructs(predictions, FuturePotentials(futurePotentials), file: file, line: line)
    }

    /// The same for a list as the engine computes it (records read in place) or as built from values.
    private func assertResponseEncodesLikeTheProtoStructs(_ predictions: [Prediction], _ futurePotentials: FuturePotentials,
                                                          file: StaticString = #filePath, line: UInt = #line) {
        var response = Kato_V2_GetPredictionsResponse()
        response.sessionID = "s-2"
        response.predictions = predictions.map(Convert.prediction)
        response.futurePotentials = futurePotentials.map(Convert.futurePotential)
        response.count = Int64(predictions.count)
        let written = PredictionsResponseEncoder.encode(sessionID: "s-2", predictions: predictions, futurePotentials: futurePotentials)
        XCTAssertEqual(written, response.serializedBytes(), file: file, line: line)
    }

    private static func symbol(_ rng: inout SplitMix64) -> String {
        switch rng.below(8) {
        case 0: return ""
        case 1: return "é\(rng.below(4))"
        case 2: return "q\"\\\(rng.below(4))"
        case 3: return String(repeating: "long-", count: 30) + "\(rng.below(2))"  // a 2-byte length
        case 4: return "名\(rng.below(3))"
        default: return "v\(rng.below(8))"
        }
    }

    /// The encoders copy a computed prediction's pattern fields from the bytes each pattern keeps
    /// (`EventWire`, built with its shape): on patterns learned, restored from a snapshot and
    /// bulk-loaded, with symbols empty, non-ASCII, escaped and long and events of more than 64
    /// symbols, the result is still protobuf-c's, byte for byte; and so it is for predictions
    /// whose fields were set explicitly (written per symbol).
    func testPatternsOfEveryOriginAndSymbolKindEncodeLikeTheProtoStructs() throws {
        var rng = SplitMix64(state: 16)
        let kb = KnowledgeBase()
        for _ in 0..<60 {
            // A long event of short symbols (the similarity is over the text: long ones would never match).
            let events = (0..<(1 + rng.below(4))).map { _ in
                rng.below(12) == 0 ? (0..<(65 + rng.below(20))).map { i in i % 9 == 0 ? "é\(i % 4)" : "v\(i % 8)" }
                    : (0..<(1 + rng.below(3))).map { _ in Self.symbol(&rng) }
            }
            guard events.joined().count >= 2 else { continue }
            kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
        }
        let snapshot = kb.snapshot()
        let restored = KnowledgeBase()
        restored.restore(snapshot)
        var loader = KnowledgeBaseLoader(expectedPatterns: snapshot.patterns.count)
        for p in snapshot.patterns {
            loader.append(name: p.name, events: p.events, frequency: p.frequency, emotives: p.emotives, metadata: p.metadata)
        }
        let loaded = KnowledgeBase(loaded: loader)
        var predictionsSeen = 0, longSeen = 0, explicitSeen = 0
        for base in [kb, restored, loaded] {
            let engine = KatoEngine(knowledgeBase: base)
            // A low threshold, so that the long patterns (65+ symbols) are predicted too.
            var session = try SessionState(config: EngineConfig(recallThreshold: 0.01, maxPredictions: 1000))
            var r = SplitMix64(state: 17)
            for step in 0..<10 {
                let symbols = (0..<(1 + r.below(3))).map { _ in Self.symbol(&r) }.filter { !$0.isEmpty }
                try engine.observe(Observation(strings: symbols.isEmpty ? ["v1"] : symbols), in: &session)
                predictionsSeen += session.predictions.count
                longSeen += session.predictions.filter { p in p.sequence.contains { $0.count > 64 } }.count
                try assertEncodesLikeTheProtoStructs(session, sequence: Int64(step), cause: .observe)
                // Fields set explicitly are no longer the pattern's run.
                let explicit = session.predictions.enumerated().map { i, p in
                    var p = p
                    switch i % 3 {
                    case 0: p.future = [["x", ""], []]
                    case 1: p.past = []; p.sequence = [["é"]]
                    default: p.present = p.present.reversed()
                    }
                    return p
                }
                explicitSeen += explicit.count
                let potentials = session.futurePotentials.map {
                    FuturePotential(future: $0.future + [["y"]], aggregatePotential: $0.aggregatePotential,
                                    supportingPatterns: $0.supportingPatterns, totalWeightedFrequency: $0.totalWeightedFrequency)
                }
                assertResponseEncodesLikeTheProtoStructs(explicit, potentials + session.futurePotentials)
            }
        }
        XCTAssertGreaterThan(predictionsSeen, 100)
        XCTAssertGreaterThan(longSeen, 3)
        XCTAssertGreaterThan(explicitSeen, 100)
    }

    /// The one-pass writer leaves 2 bytes for a prediction's length and 1 for an event's or a
    /// future potential's, and moves the body when the varint is shorter or longer; it writes into
    /// storage sized by a guess and moves to a buffer of its own when that is short. Here: a
    /// prediction under 128 bytes, one over 16 KB (3-byte length, past the guess), events and
    /// future potentials over 127 bytes, emotives with non-ASCII keys, selections from an STM of
    /// non-ASCII, escaped and 200-byte symbols, a present fully matched (every `missing` event
    /// empty, every `extras` event empty).
    func testLengthsOfEverySizeAndEmptySelectionsEncodeLikeTheProtoStructs() throws {
        let long = String(repeating: "ü", count: 100)  // 200 bytes: a 2-byte length
        let huge = String(repeating: "𝄞", count: 4_500)  // 18,000 bytes: predictions over 16 KB
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var learner = try SessionState()
        for (events, emotives) in [
            ([["a", "b"], [huge]], ["é-joy": 0.5, "fear": -2.0]),
            ([["a", "b"], ["c"]], [:]),
            ([["é", "q\"\\"], [long, "d"], ["e", long]], ["名": 1.0]),
            ([["x"], ["é", "q\"\\", long], (0..<40).map { "s\($0)" }], [:]),
        ] as [([[String]], [String: Double])] {
            for (i, e) in events.enumerated() {
                try engine.observe(Observation(strings: e, emotives: i == 0 ? emotives : [:]), in: &learner)
            }
            engine.learn(in: &learner)
        }
        var sizes: [Int] = []
        for stm in [[["a", "b"]], [["é", "q\"\\"], [long, "zz"]], [["x"], ["é", "q\"\\", long]]] {
            var session = try SessionState(config: EngineConfig(recallThreshold: 0.0005))
            for e in stm { try engine.observe(Observation(strings: e), in: &session) }
            XCTAssertFalse(session.predictions.isEmpty)
            sizes += session.predictions.map { Convert.prediction($0).serializedBytes().count }
            try assertEncodesLikeTheProtoStructs(session, sequence: 9, cause: .observe)
        }
        XCTAssertTrue(sizes.contains { $0 > 16_384 })
        // Fully matched present: nothing missing, no extras.
        var matched = try SessionState()
        try engine.observe(Observation(strings: ["a", "b"]), in: &matched)
        let p = try XCTUnwrap(matched.predictions.first { $0.present == [["a", "b"]] })
        XCTAssertEqual(p.missing, [[]])
        XCTAssertEqual(p.extras, [[]])
        try assertEncodesLikeTheProtoStructs(matched, sequence: 1, cause: .observe)
        // Explicit predictions: one under 128 bytes (type and name empty, numbers 0), one over 16 KB.
        let tiny = Prediction(
            type: "", name: "", frequency: 0, emotives: [:], matches: [], past: [], present: [], missing: [],
            extras: [], future: [], sequence: [["t"]], potential: 0, evidence: 0, similarity: 0.5, fragmentation: 0,
            snr: 0, entropy: 0, normalizedEntropy: 0, globalNormalizedEntropy: 0, confluence: 0,
            predictiveInformation: 0, confidence: 0, itfdfSimilarity: 0, patternProbability: 0, weightedStrength: 0)
        var big = tiny
        big.future = [[huge, ""], []]
        big.emotives = ["é": 1.5, "a": 0]
        let potential = FuturePotential(future: [[long, huge]], aggregatePotential: 1, supportingPatterns: 2, totalWeightedFrequency: 3)
        assertResponseEncodesLikeTheProtoStructs([tiny], [])
        assertResponseEncodesLikeTheProtoStructs([tiny, big, tiny], [potential] + matched.futurePotentials)
        assertResponseEncodesLikeTheProtoStructs([], [potential])
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

    /// The encoders read a list's future potentials in place and ask for their bytes and patterns
    /// 8 and 16 potentials ahead (and for predictions' bytes 2 ahead): lists of every length around
    /// those distances, computed futures mixed with explicit ones — empty (`[]`, `[[]]`),
    /// non-ASCII, over 127 bytes — are still protobuf-c's bytes.
    func testListsOfEveryLengthAroundThePrefetchDistancesEncodeLikeTheProtoStructs() throws {
        var rng = SplitMix64(state: 21)
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var learner = try SessionState()
        for _ in 0..<120 {
            for _ in 0..<(2 + rng.below(3)) {
                let symbols = (0..<(1 + rng.below(3))).map { _ in rng.below(10) == 0 ? "名\(rng.below(4))" : "v\(rng.below(12))" }
                try engine.observe(Observation(strings: symbols), in: &learner)
            }
            engine.learn(in: &learner)
        }
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.01, maxPredictions: 1000))
        try engine.observe(Observation(strings: ["v1", "v2"]), in: &session)
        try engine.observe(Observation(strings: ["v3"]), in: &session)
        let computed = session.futurePotentials, predictions = session.predictions
        XCTAssertGreaterThan(computed.count, 40)
        XCTAssertGreaterThan(predictions.count, 20)
        let long = String(repeating: "ü", count: 100)
        let explicit = [
            FuturePotential(future: [], aggregatePotential: 0.5, supportingPatterns: 1, totalWeightedFrequency: 2),
            FuturePotential(future: [[]], aggregatePotential: 0, supportingPatterns: 0, totalWeightedFrequency: 0),
            FuturePotential(future: [["é", long], [""]], aggregatePotential: 1, supportingPatterns: 3, totalWeightedFrequency: 1),
        ]
        for n in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 25, 40] {
            let futures = Array(computed.prefix(n))
            let someExplicit = futures.enumerated().flatMap { i, f in i % 5 == 2 ? [explicit[i % 3], f] : [f] }
            assertResponseEncodesLikeTheProtoStructs(Array(predictions.prefix(n)), futures)
            assertResponseEncodesLikeTheProtoStructs(Array(predictions.suffix(n)), someExplicit + explicit)
        }
        assertResponseEncodesLikeTheProtoStructs(predictions, computed)
    }
}
