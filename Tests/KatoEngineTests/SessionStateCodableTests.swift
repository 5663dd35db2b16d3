import Foundation
import XCTest
@testable import KatoEngine

/// A session moves between processes as an encoded value (hand-over, shared session store):
/// everything a later call reads must come back identical, floats bit for bit.
final class SessionStateCodableTests: XCTestCase {
    /// A session with every field filled: predictions and futures, accumulators, metadata of
    /// every kind, vectors, a non-default config.
    func busySession() throws -> SessionState {
        var config = EngineConfig.defaults
        config.recallThreshold = 0.05
        config.stmMode = .rolling
        config.maxPatternLength = 9
        let (engine, _) = try makeEngine(config)
        var session = try SessionState(config: config)
        try engine.learnEvents([["a", "b"], ["c"], ["d"]], in: &session)
        try engine.learnEvents([["a"], ["c"], ["e", "f"]], in: &session)
        try engine.observe(Observation(strings: ["a"], emotives: ["joy": 0.1 + 0.2], metadata: [
            "n": .null, "b": .bool(true), "i": .int(-7), "d": .double(1.0 / 3.0), "s": .string("é"),
            "list": .array([.int(1), .string("x")]), "obj": .object([(key: "z", value: .int(1)), (key: "a", value: .null)]),
        ]), in: &session)
        try engine.observe(Observation(strings: ["c"], vectors: [[0.5, 1.5]], emotives: ["fear": -2.0 / 7.0]), in: &session)
        XCTAssertFalse(session.predictions.isEmpty)
        XCTAssertFalse(session.futurePotentials.isEmpty)
        return session
    }

    func roundTrip(_ s: SessionState, with format: PropertyListSerialization.PropertyListFormat) throws -> SessionState {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = format
        return try PropertyListDecoder().decode(SessionState.self, from: encoder.encode(s))
    }

    func testEverySessionFieldSurvivesABinaryRoundTrip() throws {
        let session = try busySession()
        let copy = try roundTrip(session, with: .binary)
        XCTAssertEqual(copy, session)
        XCTAssertEqual(copy.predictions.map(\.potential.bitPattern), session.predictions.map(\.potential.bitPattern))
        XCTAssertEqual(copy.currentEmotives["joy"]?.bitPattern, session.currentEmotives["joy"]?.bitPattern)
        XCTAssertEqual(copy.futurePotentials.map(\.future), session.futurePotentials.map(\.future))
        XCTAssertEqual(copy.lastObservation, session.lastObservation)
    }

    func testAnEncodedSessionContinuesExactlyLikeTheOriginal() throws {
        let kb = KnowledgeBase()
        let engine = KatoEngine(knowledgeBase: kb)
        var original = try SessionState()
        try engine.learnEvents([["x"], ["y"], ["z"]], in: &original)
        try engine.observe(Observation(strings: ["x"], emotives: ["e": 0.7]), in: &original)
        var moved = try roundTrip(original, with: .binary)
        for s in [["y"], ["z"]] {
            try engine.observe(Observation(strings: s), in: &original)
            try engine.observe(Observation(strings: s), in: &moved)
        }
        XCTAssertEqual(moved, original)
        XCTAssertEqual(engine.learn(in: &moved).patternName, engine.learn(in: &original).patternName)
    }

    func binaryRoundTrip(_ s: SessionState) throws -> SessionState {
        var w = BinaryWriter()
        s.encode(into: &w)
        var r = BinaryReader(w.bytes)
        let copy = try SessionState(decoding: &r)
        XCTAssertTrue(r.isAtEnd)
        return copy
    }

    func testEverySessionFieldSurvivesTheHandOverBinaryForm() throws {
        let session = try busySession()
        let copy = try binaryRoundTrip(session)
        XCTAssertEqual(copy, session)
        XCTAssertEqual(copy.predictions.map(\.potential.bitPattern), session.predictions.map(\.potential.bitPattern))
        XCTAssertEqual(copy.currentEmotives["joy"]?.bitPattern, session.currentEmotives["joy"]?.bitPattern)
        XCTAssertEqual(copy.futurePotentials.map(\.future), session.futurePotentials.map(\.future))
        XCTAssertEqual(copy.lastObservation, session.lastObservation)
        XCTAssertEqual(copy.metadataAccumulator, session.metadataAccumulator)
        XCTAssertEqual(try binaryRoundTrip(SessionState()), try SessionState())
    }

    /// The binary form lists SessionState's fields by hand (SessionState+Binary.swift): a new field
    /// must be added there, and the hand-over's format version raised (SessionHandOver).
    func testTheBinaryFormCoversEverySessionField() throws {
        let fields = Mirror(reflecting: try SessionState()).children.compactMap(\.label).sorted()
        XCTAssertEqual(fields, ["config", "emotivesAccumulator", "futurePotentials", "journal", "lastObservation", "lastSymbols",
                                "metadataAccumulator", "predictions", "stm", "time"],
                       "SessionState's fields changed: update SessionState+Binary.swift and SessionHandOver's format")
        // Prediction's public fields (its stored form is compact: the Codable form lists the fields).
        let prediction = try JSONSerialization.jsonObject(with: JSONEncoder().encode(busySession().predictions[0]))
        XCTAssertEqual((prediction as? [String: Any])?.count, 25,
                       "Prediction's fields changed: update SessionState+Binary.swift and SessionHandOver's format")
        XCTAssertEqual(Mirror(reflecting: EngineConfig.defaults).children.count, 8,
                       "EngineConfig's fields changed: update SessionState+Binary.swift and SessionHandOver's format")
    }

    func testAnOpenTransactionIsNotPartOfTheEncoding() throws {
        var session = try busySession()
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        session.beginTransaction()
        let inside = try encoder.encode(session)
        session.commitTransaction()
        XCTAssertEqual(inside, try encoder.encode(session), "the undo record must not travel with the session")
    }
}
