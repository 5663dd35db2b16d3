import XCTest
@testable import KatoEngine

/// The KATO v2.0.0 defects kato fixes (DESIGN "Fidelity"; each listed in docs/FIDELITY.md).
final class FidelityFixTests: XCTestCase {
    func testAccumulatorsBelongToTheSession() throws {  // Q3
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var one = try SessionState()
        var two = try SessionState()
        try engine.observe(Observation(strings: ["a"], emotives: ["joy": 1]), in: &one)
        try engine.observe(Observation(strings: ["a"], emotives: ["joy": 9]), in: &two)
        try engine.observe(Observation(strings: ["b"]), in: &one)
        let name = engine.learn(in: &one).patternName
        XCTAssertEqual(engine.pattern(named: name)?.emotives, [["joy": 1]])
        XCTAssertEqual(two.emotivesAccumulator, [["joy": 9]])
    }

    func testSTMPredictionsAndTimeBelongToTheSession() throws {  // Q4, Q5, Q14
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var one = try SessionState()
        var two = try SessionState()
        try engine.learnEvents([["a"], ["b"], ["c"]], in: &one)
        try engine.observeEvents([["a"], ["b"]], in: &one)
        try engine.observe(Observation(strings: ["x"]), in: &two)
        XCTAssertEqual(one.predictions.count, 1)
        XCTAssertEqual(two.predictions, [])
        XCTAssertEqual(two.stm, [["x"]])
        XCTAssertEqual(one.time, 5)
        XCTAssertEqual(two.time, 1)
        XCTAssertEqual(two.futurePotentials, [])
    }

    func testTiesInPotentialAreOrderedByName() throws {  // Q13
        var (engine, s) = try makeEngine()
        var names: [String] = []
        for tail in ["x1", "x2", "x3", "x4"] {
            names.append(Naming.bareHash(try engine.learnEvents([["a"], ["b"], [tail]], in: &s)))
        }
        try engine.observeEvents([["a"], ["b"]], in: &s)
        XCTAssertEqual(s.predictions.map(\.name), names.sorted())
        XCTAssertEqual(Set(s.predictions.map(\.potential)).count, 1)
    }

    func testRollingWithMaxPatternLengthOneKeepsNothing() throws {  // Q15
        var (engine, s) = try makeEngine()
        try engine.observeEvents([["a"], ["b"], ["c"]], in: &s)
        try s.updateConfig(ConfigUpdate(maxPatternLength: 1, stmMode: .rolling))
        let r = try engine.observe(Observation(strings: ["d"]), in: &s)
        XCTAssertEqual(r.autoLearnedPattern, Naming.publicName(Naming.patternHash([["a"], ["b"], ["c"], ["d"]])))
        XCTAssertEqual(s.stm, [], "KATO's STM[-0:] restored the whole STM; kato keeps max_pattern_length − 1 = 0 events")
    }

    func testRelearnWithEmotivesOfPatternFirstLearnedWithoutWorks() throws {  // Q10
        var (engine, s) = try makeEngine()
        let name = try engine.learnEvents([["a"], ["b"]], in: &s)
        XCTAssertNil(engine.pattern(named: name)?.emotives, "reported as {} like KATO")
        try engine.observe(Observation(strings: ["a"], emotives: ["v": 2]), in: &s)
        try engine.observe(Observation(strings: ["b"]), in: &s)
        XCTAssertEqual(engine.learn(in: &s).patternName, name)
        XCTAssertEqual(engine.pattern(named: name)?.emotives, [["v": 2]])
        XCTAssertEqual(engine.pattern(named: name)?.frequency, 2)
    }

    func testPersistenceChangeTakesEffect() throws {  // Q7
        var (engine, s) = try makeEngine(EngineConfig(persistence: 5))
        try s.updateConfig(ConfigUpdate(persistence: 1))
        var name = ""
        for v in [1.0, 2.0, 3.0] {
            try engine.observe(Observation(strings: ["a"], emotives: ["v": v]), in: &s)
            try engine.observe(Observation(strings: ["b"]), in: &s)
            name = engine.learn(in: &s).patternName
        }
        XCTAssertEqual(engine.pattern(named: name)?.emotives, [["v": 3]])
    }

    func testSortSymbolsChangeTakesEffect() throws {  // Q9
        var (engine, s) = try makeEngine()
        try s.updateConfig(ConfigUpdate(sortSymbols: false))
        XCTAssertEqual(try engine.observe(Observation(strings: ["b", "a"]), in: &s).symbols, ["b", "a"])
    }

    func testRestoringASnapshotLoadsTheWholeKnowledgeBase() throws {  // Q6
        var (engine, s) = try makeEngine(EngineConfig(processPredictions: false))
        for i in 0..<1500 { try engine.learnEvents([["p\(i)"], ["common"], ["tail"]], in: &s) }
        let restored = KatoEngine(knowledgeBase: KnowledgeBase(snapshot: engine.knowledgeBase.snapshot()))
        XCTAssertEqual(restored.knowledgeBase.patternCount, 1500)
        XCTAssertEqual(restored.knowledgeBase.snapshot(), engine.knowledgeBase.snapshot())
        var t = try SessionState()
        try restored.learnEvents([["new"], ["one"]], in: &t)
        try restored.observeEvents([["p1499"], ["common"]], in: &t)
        XCTAssertEqual(t.predictions.first?.sequence, [["p1499"], ["common"], ["tail"]])
    }

    func testInvalidConfigIsRejectedNamingTheParameter() throws {  // Q17
        var s = try SessionState()
        let before = s.config
        XCTAssertThrowsError(try s.updateConfig(ConfigUpdate(recallThreshold: 1.5, maxPredictions: 0))) { error in
            XCTAssertEqual((error as? EngineValidationError)?.field, "recall_threshold")
        }
        XCTAssertEqual(s.config, before, "nothing applied")
        XCTAssertThrowsError(try STMMode(validating: "SLIDING")) { error in
            XCTAssertEqual((error as? EngineValidationError)?.field, "stm_mode")
        }
        XCTAssertThrowsError(try SessionState(config: EngineConfig(persistence: 0)))
        XCTAssertThrowsError(try SessionState(config: EngineConfig(maxPatternLength: -1)))
        XCTAssertThrowsError(try SessionState(config: EngineConfig(maxPredictions: 10_001)))
        XCTAssertThrowsError(try IndexerType(validating: "HNSW"))
    }

    func testVectorObservationsWorkWithEveryIndexerType() throws {  // Q21
        for type in IndexerType.allCases {
            var (engine, s) = try makeEngine(EngineConfig(indexerType: type))
            XCTAssertEqual(try engine.observe(Observation(vectors: [[1, 2, 3]]), in: &s).symbols,
                           ["VCTR|fe5de4472f7e4d5c9cdd19cadebfa06fe3da8e43"])
        }
    }
}
