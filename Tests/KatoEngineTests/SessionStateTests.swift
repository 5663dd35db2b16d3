import XCTest
@testable import KatoEngine

/// `SessionState`'s in-place transactions: a rollback restores the state exactly, whatever the
/// operation did (appends, learns that replace the STM, rolling auto-learns, clears).
final class SessionStateTests: XCTestCase {
    private struct Boom: Error {}

    private func seeded(_ config: EngineConfig = .defaults) throws -> (KatoEngine, SessionState) {
        var (engine, state) = try makeEngine(config)
        try engine.learnEvents([["a"], ["b"], ["c"]], in: &state)
        _ = try engine.observe(Observation(strings: ["a"], emotives: ["joy": 1]), in: &state)
        _ = try engine.observe(Observation(strings: ["b"], metadata: ["k": .string("v")]), in: &state)
        return (engine, state)
    }

    private func assertRollsBack(
        _ config: EngineConfig = .defaults, file: StaticString = #filePath, line: UInt = #line,
        _ body: (KatoEngine, inout SessionState) throws -> Void
    ) throws {
        var (engine, state) = try seeded(config)
        let before = state
        state.beginTransaction()
        do {
            try body(engine, &state)
            throw Boom()
        } catch {
            state.rollbackTransaction()
        }
        XCTAssertEqual(state, before, file: file, line: line)
        // And the state still works in place afterwards.
        _ = try engine.observe(Observation(strings: ["z"]), in: &state)
        XCTAssertEqual(state.stm.last, ["z"], file: file, line: line)
        XCTAssertEqual(state.time, before.time + 1, file: file, line: line)
    }

    func testObserveRollsBack() throws {
        try assertRollsBack { engine, s in
            _ = try engine.observe(Observation(strings: ["c"], emotives: ["joy": 0.5], metadata: ["m": .string("x")]), in: &s)
            _ = try engine.observe(Observation(strings: ["d"]), in: &s)
        }
    }

    func testLearnAndClearRollBack() throws {
        try assertRollsBack { engine, s in
            _ = try engine.observe(Observation(strings: ["c"], emotives: ["joy": 0.5]), in: &s)
            _ = engine.learn(in: &s)
            _ = try engine.observe(Observation(strings: ["d"]), in: &s)
            engine.clearSTM(in: &s)
            _ = try engine.observe(Observation(strings: ["e"]), in: &s)
        }
    }

    func testRollingAutoLearnAndTrimRollBack() throws {
        var config = EngineConfig.defaults
        config.maxPatternLength = 3
        config.stmMode = .rolling
        try assertRollsBack(config) { engine, s in
            for symbol in ["c", "d", "e", "f"] { _ = try engine.observe(Observation(strings: [symbol]), in: &s) }
            s.trimSTM(keepingLast: 1)
        }
    }

    func testCancelledObserveInsideTransaction() throws {
        try assertRollsBack { engine, s in
            _ = try engine.observe(Observation(strings: ["c"]), in: &s)
            _ = try engine.observe(Observation(strings: ["d"]), in: &s, shouldContinue: { false })
        }
    }

    func testSequenceRollsBack() throws {
        try assertRollsBack { engine, s in
            _ = try engine.observeSequence(
                [Observation(strings: ["c"]), Observation(strings: ["d"], emotives: ["x": 1])],
                options: SequenceOptions(learnAfterEach: true, learnAtEnd: true, clearSTMBetween: true), in: &s)
        }
    }

    func testCommitKeepsChanges() throws {
        var (engine, state) = try seeded()
        state.beginTransaction()
        _ = try engine.observe(Observation(strings: ["c"]), in: &state)
        state.commitTransaction()
        state.rollbackTransaction()  // nothing open: no effect
        XCTAssertEqual(state.stm, [["a"], ["b"], ["c"]])
        XCTAssertEqual(state.time, 6)
    }
}
