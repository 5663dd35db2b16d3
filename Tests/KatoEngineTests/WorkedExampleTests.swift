import XCTest
@testable import KatoEngine

/// kato-semantics §7 (worked examples), §4.7 (ensemble numbers), §4.8 and §4.9 (matching examples).
final class WorkedExampleTests: XCTestCase {
    func testSingleSymbolProducesNoPredictionsAndIsNotLearned() throws {
        var (engine, s) = try makeEngine()
        let r = try engine.observe(Observation(strings: ["lonely"]), in: &s)
        XCTAssertFalse(r.predictionsComputed)
        XCTAssertEqual(s.stm, [["lonely"]])
        XCTAssertEqual(engine.learn(in: &s).patternName, "")
        XCTAssertEqual(s.stm, [])
        XCTAssertEqual(engine.knowledgeBase.patternCount, 0)
    }

    func testOneEventWithTwoSymbolsIsLearned() throws {
        var (engine, s) = try makeEngine()
        let r = try engine.observe(Observation(strings: ["a", "b"]), in: &s)
        XCTAssertTrue(r.predictionsComputed)
        XCTAssertEqual(engine.learn(in: &s).patternName, Naming.publicName(Naming.patternHash([["a", "b"]])))
    }

    func testSymbolsAreSortedByCodePointInsideAnEvent() throws {
        var (engine, s) = try makeEngine()
        XCTAssertEqual(try engine.observe(Observation(strings: ["zebra", "apple", "mango"]), in: &s).symbols,
                       ["apple", "mango", "zebra"])
        XCTAssertEqual(try engine.observe(Observation(strings: ["b", "B", "a", "A"]), in: &s).symbols, ["A", "B", "a", "b"])
        XCTAssertEqual(try engine.observe(Observation(strings: ["10", "2", "1"]), in: &s).symbols, ["1", "10", "2"])
        XCTAssertEqual(try engine.observe(Observation(strings: ["a", "a"]), in: &s).symbols, ["a", "a"])
    }

    func testEmotivesOnlyObservationAdvancesTimeButNotSTM() throws {
        var (engine, s) = try makeEngine()
        try engine.observe(Observation(strings: ["a"]), in: &s)
        let r = try engine.observe(Observation(emotives: ["joy": 1]), in: &s)
        XCTAssertEqual(r.time, 2)
        XCTAssertEqual(r.stmLength, 1)
        XCTAssertEqual(s.emotivesAccumulator.count, 1)
    }

    func testRelearningSameSequenceIncrementsFrequency() throws {
        var (engine, s) = try makeEngine()
        let first = try engine.learnEvents([["hello"], ["world"]], in: &s)
        XCTAssertEqual(first, "PTRN|7d0678ba6305341ce0d25133ab086208656a562f")
        XCTAssertEqual(try engine.learnEvents([["hello"], ["world"]], in: &s), first)
        XCTAssertEqual(engine.pattern(named: first)?.frequency, 2)
        XCTAssertNotEqual(try engine.learnEvents([["world"], ["hello"]], in: &s), first)
        XCTAssertNotEqual(Naming.patternHash([["a", "b"], ["c"]]), Naming.patternHash([["a"], ["b"], ["c"]]))
    }

    func testPastPresentFutureOfPartialMatch() throws {
        var (engine, s) = try makeEngine(EngineConfig(recallThreshold: 0.3))
        let name = try engine.learnEvents([["beginning"], ["middle"], ["end"]], in: &s)
        try engine.observeEvents([["middle"], ["end"]], in: &s)
        let top = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(Naming.publicName(top.name), name)
        XCTAssertEqual(top.past, [["beginning"]])
        XCTAssertEqual(top.present, [["middle"], ["end"]])
        XCTAssertEqual(top.future, [])
        XCTAssertEqual(top.similarity, 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(top.evidence, 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertEqual(top.confidence, 1.0)
        XCTAssertEqual(top.potential, 0)  // empty future
    }

    func testMissingAndExtrasAreEventAligned() throws {
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["hello", "world"], ["foo", "bar"]], in: &s)
        try engine.observeEvents([["hello"], ["foo"]], in: &s)
        var p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.missing, [["world"], ["bar"]])
        XCTAssertEqual(p.similarity, 0.642857, accuracy: 1e-6)
        XCTAssertEqual(p.fragmentation, 1)

        (engine, s) = try makeEngine()
        try engine.learnEvents([["a", "b"], ["c", "d"]], in: &s)
        try engine.observeEvents([["a", "x"], ["c", "y"]], in: &s)
        p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.missing, [["b"], ["d"]])
        XCTAssertEqual(p.extras, [["x"], ["y"]])
        XCTAssertEqual(p.snr, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(p.similarity, 0.714286, accuracy: 1e-6)
    }

    func testFutureFollowsPresent() throws {
        var (engine, s) = try makeEngine()
        let name = try engine.learnEvents([["a", "b"], ["c", "d"], ["e"]], in: &s)
        try engine.observeEvents([["a"], ["c"]], in: &s)
        let p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.name, Naming.bareHash(name))
        XCTAssertEqual(p.present, [["a", "b"], ["c", "d"]])
        XCTAssertEqual(p.missing, [["b"], ["d"]])
        XCTAssertEqual(p.future, [["e"]])
        XCTAssertEqual(p.similarity, 0.5, accuracy: 1e-12)
        XCTAssertEqual(p.evidence, 0.4, accuracy: 1e-12)
        XCTAssertEqual(p.confidence, 0.5, accuracy: 1e-12)
    }

    func testWorkedMatchingExampleHelloWorldFoo() throws {
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["hello"], ["world"], ["foo"]], in: &s)
        try engine.observeEvents([["hello"], ["world"]], in: &s)
        let p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.matches, ["hello", "world"])
        XCTAssertEqual(p.past, [])
        XCTAssertEqual(p.present, [["hello"], ["world"]])
        XCTAssertEqual(p.future, [["foo"]])
        XCTAssertEqual(p.missing, [[], []])
        XCTAssertEqual(p.extras, [[], []])
        XCTAssertEqual(p.similarity, 22.0 / 26.0, accuracy: 1e-12)
        XCTAssertEqual(p.evidence, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(p.snr, 1.0)
        XCTAssertEqual(p.predictiveInformation, 22.0 / 26.0, accuracy: 1e-12)
        XCTAssertEqual(p.potential, (22.0 / 26.0) * (22.0 / 26.0), accuracy: 1e-12)
        XCTAssertEqual(s.futurePotentials, [FuturePotential(
            future: [["foo"]], aggregatePotential: 1.0, supportingPatterns: 1, totalWeightedFrequency: p.similarity)])
    }

    func testWorkedTableRowsOfSection4_9() throws {
        // [[one],[two],[three],[four]] with STM [[two],[three]] and [[a],[b],[a],[c]] with STM [[a],[c]].
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["one"], ["two"], ["three"], ["four"]], in: &s)
        try engine.observeEvents([["two"], ["three"]], in: &s)
        var p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.past, [["one"]])
        XCTAssertEqual(p.present, [["two"], ["three"]])
        XCTAssertEqual(p.future, [["four"]])
        XCTAssertEqual(p.similarity, 0.6667, accuracy: 1e-4)

        (engine, s) = try makeEngine()
        try engine.learnEvents([["a"], ["b"], ["a"], ["c"]], in: &s)
        try engine.observeEvents([["a"], ["c"]], in: &s)
        p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.matches, ["a", "c"])
        XCTAssertEqual(p.past, [["a"], ["b"]])
        XCTAssertEqual(p.present, [["a"], ["c"]])
        XCTAssertEqual(p.future, [])
        XCTAssertEqual(p.similarity, 0.6, accuracy: 1e-12)
        XCTAssertEqual(p.evidence, 0.5, accuracy: 1e-12)
    }

    func testEnsemblePredictiveInformationWorkedNumbers() throws {
        // A (f=2, s=1.0, future [[x]]) and B (f=1, s=0.5, future [[y]]).
        var (engine, s) = try makeEngine()
        for _ in 0..<2 { try engine.learnEvents([["p"], ["q"], ["x"]], in: &s) }
        try engine.learnEvents([["p", "q"], ["y"]], in: &s)
        try engine.observeEvents([["p"], ["q"]], in: &s)
        XCTAssertEqual(s.predictions.count, 2)
        let f = s.predictions.reduce(0) { $0 + $1.frequency }
        XCTAssertEqual(f, 3)
        for p in s.predictions {
            // potential = s · (s·f/F) / agg
            let w = s.predictions.reduce(0.0) { $0 + Double($1.frequency) * $1.similarity }
            let agg = Double(p.frequency) * p.similarity / w
            XCTAssertEqual(p.predictiveInformation, (p.similarity * Double(p.frequency) / 3) / agg, accuracy: 1e-12)
            XCTAssertEqual(p.potential, p.similarity * p.predictiveInformation, accuracy: 1e-12)
            XCTAssertEqual(p.patternProbability, Double(p.frequency) / 3, accuracy: 1e-12)
        }
        XCTAssertEqual(s.futurePotentials.map(\.supportingPatterns), [1, 1])
        XCTAssertEqual(s.futurePotentials.reduce(0) { $0 + $1.aggregatePotential }, 1.0, accuracy: 1e-12)
    }

    func testAutoLearnClearMode() throws {
        var (engine, s) = try makeEngine(EngineConfig(maxPatternLength: 3))
        try engine.observeEvents([["a"], ["b"]], in: &s)
        let r = try engine.observe(Observation(strings: ["c"]), in: &s)
        XCTAssertEqual(r.autoLearnedPattern, "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9")
        XCTAssertEqual(s.stm, [])
        try engine.observe(Observation(strings: ["d"]), in: &s)
        XCTAssertEqual(s.stm, [["d"]])
    }

    func testAutoLearnRollingModeSlidesAWindow() throws {
        var (engine, s) = try makeEngine(EngineConfig(maxPatternLength: 3, stmMode: .rolling))
        try engine.observeEvents([["a"], ["b"], ["c"]], in: &s)
        XCTAssertEqual(s.stm, [["b"], ["c"]])
        let r = try engine.observe(Observation(strings: ["d"]), in: &s)
        XCTAssertEqual(r.autoLearnedPattern, Naming.publicName(Naming.patternHash([["b"], ["c"], ["d"]])))
        XCTAssertEqual(s.stm, [["c"], ["d"]])
    }

    func testMaxPatternLengthZeroNeverAutoLearns() throws {
        var (engine, s) = try makeEngine(EngineConfig(maxPatternLength: 0, stmMode: .rolling))
        try engine.observeEvents((0..<20).map { ["s\($0)"] }, in: &s)
        XCTAssertEqual(s.stm.count, 20)
        XCTAssertEqual(engine.knowledgeBase.patternCount, 0)
    }

    func testMetadataIsStringifiedUnionedAndClearedByClearSTM() throws {
        var (engine, s) = try makeEngine()
        try engine.observe(Observation(strings: ["a"], metadata: ["book": .string("t1")]), in: &s)
        try engine.observe(Observation(strings: ["b"], metadata: ["book": .string("t2")]), in: &s)
        try engine.observe(Observation(strings: ["c"], metadata: ["book": .string("t1"), "n": .int(5), "f": .bool(true)]), in: &s)
        let name = engine.learn(in: &s).patternName
        XCTAssertEqual(engine.pattern(named: name)?.metadata, ["book": ["t1", "t2"], "n": ["5"], "f": ["True"]])
        try engine.observe(Observation(strings: ["a"], metadata: ["book": .string("t3")]), in: &s)
        try engine.observeEvents([["b"], ["c"]], in: &s)
        engine.learn(in: &s)
        XCTAssertEqual(engine.pattern(named: name)?.metadata["book"], ["t1", "t2", "t3"])
        try engine.observe(Observation(strings: ["a"], metadata: ["book": .string("gone")]), in: &s)
        engine.clearSTM(in: &s)
        XCTAssertEqual(s.metadataAccumulator.count, 0)
    }

    func testEmotivesAreAveragedAndWindowedByPersistence() throws {
        var (engine, s) = try makeEngine(EngineConfig(persistence: 2))
        try engine.observe(Observation(strings: ["a"], emotives: ["joy": 0.8]), in: &s)
        try engine.observe(Observation(strings: ["b"], emotives: ["joy": 0.4]), in: &s)
        let name = engine.learn(in: &s).patternName
        XCTAssertEqual(engine.pattern(named: name)?.emotives, [["joy": 0.6000000000000001]])
        for v in [1.0, 2.0, 3.0] {
            try engine.observe(Observation(strings: ["a"], emotives: ["joy": v]), in: &s)
            try engine.observe(Observation(strings: ["b"]), in: &s)
            engine.learn(in: &s)
        }
        XCTAssertEqual(engine.pattern(named: name)?.emotives, [["joy": 2.0], ["joy": 3.0]])
        try engine.observeEvents([["a"], ["b"]], in: &s)
        XCTAssertEqual(s.predictions.first?.emotives, ["joy": 2.5])
    }

    func testRecallThresholdOneKeepsOnlyExactTextMatches() throws {
        var (engine, s) = try makeEngine(EngineConfig(recallThreshold: 1.0))
        try engine.learnEvents([["a"], ["b"]], in: &s)
        try engine.learnEvents([["a"], ["b"], ["c"]], in: &s)
        try engine.observeEvents([["a"], ["b"]], in: &s)
        XCTAssertEqual(s.predictions.map(\.sequence), [[["a"], ["b"]]])
    }

    func testRecallThresholdZeroAdmitsPatternsWithoutCommonTokensOnlyThroughTheIndex() throws {
        var (engine, s) = try makeEngine(EngineConfig(recallThreshold: 0.0))
        try engine.learnEvents([["x"], ["y"]], in: &s)
        try engine.observeEvents([["a"], ["b"]], in: &s)  // q = 2: length partitions are unioned in
        let p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.fragmentation, -1)
        XCTAssertEqual(p.present, [["x"], ["y"]])
        XCTAssertEqual(p.matches, [])
        engine.clearSTM(in: &s)
        try engine.observeEvents([["a"], ["b"], ["c"]], in: &s)  // q = 3: must share a symbol with state[:10]
        XCTAssertEqual(s.predictions, [])
    }
}
