import XCTest
@testable import KatoEngine
import KatoSupport

/// An observe-sequence that skips the predictions nobody can read (`observedSteps: false`,
/// KatoEngine+UnreadPredictions.swift) against the forward run that computes every one: on random
/// knowledge bases, STMs, configs and sequences, the session (predictions, future potentials, STM,
/// time, accumulators), the result and the knowledge base end identical.
final class UnreadPredictionsTests: XCTestCase {
    typealias Rng = SplitMix64

    struct Case {
        var patterns: [[[String]]]
        var before: [Observation]
        var sequence: [Observation]
        var options: SequenceOptions
        var config: EngineConfig
    }

    static func randomCase(seed: UInt64) -> Case {
        var rng = Rng(state: seed)
        let vocab = (0..<rng.int(2...30)).map { "s\($0)" }
        func events(_ n: ClosedRange<Int>) -> [[String]] {
            (0..<rng.int(n)).map { _ in (0..<rng.int(1...3)).map { _ in rng.pick(vocab) } }
        }
        let patterns = (0..<rng.int(0...40)).map { _ in events(2...5) }
        // Observations with strings, some with only emotives (no event: `predictions` cleared,
        // future potentials kept), some with symbols no pattern holds (no prediction found).
        func observation() -> Observation {
            switch rng.int(0...9) {
            case 0: return Observation(emotives: ["joy": Double(rng.int(1...3))])
            case 1: return Observation(strings: ["unknown\(rng.int(0...3))"])
            default: return Observation(strings: (0..<rng.int(1...3)).map { _ in rng.pick(vocab) })
            }
        }
        let before = (0..<rng.int(0...3)).map { _ in observation() }
        let sequence = (0..<rng.int(1...6)).map { _ in observation() }
        let options = SequenceOptions(
            learnAfterEach: rng.int(0...5) == 0, learnAtEnd: rng.int(0...1) == 0, clearSTMBetween: rng.int(0...5) == 0)
        let config = EngineConfig(
            maxPatternLength: rng.int(0...5) == 0 ? rng.int(2...4) : 0,
            recallThreshold: rng.pick([0.0, 0.1, 0.3, 0.6, 0.9]), maxPredictions: rng.pick([1, 3, 100]),
            processPredictions: rng.int(0...7) != 0)
        return Case(patterns: patterns, before: before, sequence: sequence, options: options, config: config)
    }

    /// Runs the case on a knowledge base of its own.
    static func run(_ c: Case, observedSteps: Bool) throws -> (SessionState, SequenceResult, KnowledgeBaseSnapshot, Int) {
        let kb = KnowledgeBase()
        for p in c.patterns { kb.learn(events: p, emotives: [:], metadata: [:], persistence: 5) }
        let engine = KatoEngine(knowledgeBase: kb)
        var session = try SessionState(config: c.config)
        for o in c.before { try engine.observe(o, in: &session) }
        var changes = 0
        let result = try engine.observeSequence(
            c.sequence, options: c.options, in: &session, onChange: { _, _ in changes += 1 },
            observedSteps: observedSteps
        ) { state, trigger in
            trigger == .auto ? engine.performAutoLearn(in: &state).patternName : engine.learn(in: &state).patternName
        }
        return (session, result, kb.snapshot(), changes)
    }

    func testSkippingUnreadPredictionsLeavesTheSameSessionAsTheForwardRun() throws {
        var skipped = 0, fellBack = 0
        for seed in UInt64(0)..<1500 {
            let c = Self.randomCase(seed: seed)
            let (a, ra, kba, na) = try Self.run(c, observedSteps: true)
            let (b, rb, kbb, nb) = try Self.run(c, observedSteps: false)
            XCTAssertEqual(a, b, "seed \(seed): session state")
            XCTAssertEqual(a.predictions, b.predictions, "seed \(seed): predictions")
            XCTAssertEqual(a.futurePotentials, b.futurePotentials, "seed \(seed): future potentials")
            XCTAssertEqual(ra, rb, "seed \(seed): sequence result")
            XCTAssertEqual(kba, kbb, "seed \(seed): knowledge base")
            XCTAssertEqual(na, nb, "seed \(seed): changes reported to onChange")
            if UnreadPredictions.applies(options: c.options, config: c.config) && c.sequence.count > 1 {
                skipped += 1
                // The last observation found nothing, but an earlier one's potentials survive.
                if b.predictions.isEmpty && !b.futurePotentials.isEmpty { fellBack += 1 }
            }
        }
        // The random cases reach both paths (else this test could not fail).
        XCTAssertGreaterThan(skipped, 300)
        XCTAssertGreaterThan(fellBack, 10)
    }

    func testAnObservationWithoutEventAfterTheLastPredictionLeavesNoPredictions() throws {
        let c = Case(
            patterns: [[["a"], ["b"], ["c"]]],
            before: [],
            sequence: [Observation(strings: ["a"]), Observation(strings: ["b"]), Observation(emotives: ["joy": 1])],
            options: SequenceOptions(), config: EngineConfig())
        let (a, _, _, _) = try Self.run(c, observedSteps: true)
        let (b, _, _, _) = try Self.run(c, observedSteps: false)
        XCTAssertEqual(b.predictions, [])
        XCTAssertFalse(b.futurePotentials.isEmpty)
        XCTAssertEqual(a, b)
    }
}
