import Dispatch
import XCTest
@testable import KatoEngine

final class KnowledgeBaseTests: XCTestCase {
    func testLearnOutcomeReportsNewAndRepeatedPatterns() {
        let kb = KnowledgeBase()
        let first = kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        let second = kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        XCTAssertTrue(first.isNew)
        XCTAssertFalse(second.isNew)
        XCTAssertEqual(second.frequency, 2)
        XCTAssertEqual(first.publicName, "PTRN|76d7efca2e96cb5eeddf4e06ac96a0f424630135")
    }

    func testZeroEmotiveAveragesAreDroppedButStillAppendAWindowEntry() {
        let kb = KnowledgeBase()
        let o = kb.learn(events: [["a"], ["b"]], emotives: ["calm": 0, "joy": 1], metadata: [:], persistence: 5)
        XCTAssertEqual(kb.pattern(named: o.name)?.emotives, [["joy": 1]])
        XCTAssertEqual(kb.symbolStats("a")?.emotives, ["joy": 1])
    }

    func testClearRemovesEverything() {
        let kb = KnowledgeBase()
        kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        kb.clear()
        XCTAssertEqual(kb.snapshot(), KnowledgeBaseSnapshot())
    }

    func testClearAllResetsTimeAndKnowledge() throws {
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["a"], ["b"]], in: &s)
        engine.clearAll(in: &s)
        XCTAssertEqual(s.time, 0)
        XCTAssertEqual(engine.knowledgeBase.patternCount, 0)
        XCTAssertNil(engine.pattern(named: Naming.publicName(Naming.patternHash([["a"], ["b"]]))))
    }

    func testConcurrentSessionsShareOneKnowledgeBaseSafely() throws {
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var s = try! SessionState()
            for i in 0..<200 {
                _ = try! engine.observe(Observation(strings: ["w\(worker)", "s\(i % 7)"]), in: &s)
                _ = try! engine.observe(Observation(strings: ["t\(i % 5)"]), in: &s)
                engine.learn(in: &s)
            }
        }
        XCTAssertEqual(engine.knowledgeBase.totals.totalPatternFrequencies, 1600)
        XCTAssertEqual(engine.knowledgeBase.patternCount, 8 * 35)
    }

    func testCancelledPredictionLeavesSessionAndKnowledgeBaseUnchanged() throws {
        var (engine, s) = try makeEngine(EngineConfig(maxPatternLength: 3, processPredictions: false))
        for i in 0..<600 { try engine.learnEvents([["a"], ["b"], ["c\(i)"]], in: &s) }
        try s.updateConfig(ConfigUpdate(processPredictions: true))
        try engine.observe(Observation(strings: ["a"]), in: &s)
        let before = s
        let patterns = engine.knowledgeBase.patternCount
        XCTAssertThrowsError(try engine.observe(Observation(strings: ["b"]), in: &s, shouldContinue: { false })) {
            XCTAssertTrue($0 is EngineCancelledError)
        }
        XCTAssertEqual(s, before)
        XCTAssertEqual(engine.knowledgeBase.patternCount, patterns)
    }
}
