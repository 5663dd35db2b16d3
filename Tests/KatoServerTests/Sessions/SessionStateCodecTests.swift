import Foundation
import KatoEngine
import XCTest

@testable import KatoServer

/// The session state as stored in PostgreSQL (`kato_sessions.state`): the tagged binary form,
/// rows of earlier builds (binary property lists) still readable, damage refused.
final class SessionStateCodecTests: XCTestCase {
    private func session() throws -> SessionState {
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var state = try SessionState()
        for e in ["x", "y", "z"] { _ = try engine.observe(Observation(strings: [e]), in: &state) }
        _ = engine.learn(in: &state)
        _ = try engine.observe(Observation(strings: ["x"], emotives: ["e": 0.1 + 0.2]), in: &state)
        _ = try engine.observe(Observation(strings: ["y"], vectors: [[0.5, -1.5]]), in: &state)
        XCTAssertFalse(state.predictions.isEmpty)
        return state
    }

    func testAStateComesBackIdenticalFromTheTaggedBinaryForm() throws {
        let state = try session()
        let bytes = try SessionStateCodec.encode(state)
        XCTAssertEqual(Array(bytes.prefix(3)), SessionStateCodec.binaryTag)
        let copy = try SessionStateCodec.decode(bytes)
        XCTAssertEqual(copy, state)
        XCTAssertEqual(copy.predictions.map(\.potential.bitPattern), state.predictions.map(\.potential.bitPattern))
    }

    func testARowWrittenAsAPropertyListByAnEarlierBuildIsStillRead() throws {
        let state = try session()
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        XCTAssertEqual(try SessionStateCodec.decode(Array(try encoder.encode(state))), state)
    }

    func testADamagedStateIsRefusedNotMisread() throws {
        let bytes = try SessionStateCodec.encode(try session())
        XCTAssertThrowsError(try SessionStateCodec.decode(Array(bytes.dropLast(5))))
        XCTAssertThrowsError(try SessionStateCodec.decode(bytes + [0]))
        XCTAssertThrowsError(try SessionStateCodec.decode(SessionStateCodec.binaryTag))
    }
}
