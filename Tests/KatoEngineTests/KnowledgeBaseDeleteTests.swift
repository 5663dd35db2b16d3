import XCTest
@testable import KatoEngine

/// `KnowledgeBase.delete(named:)`: afterwards the knowledge base predicts as one that never learned
/// the pattern (random knowledge bases, learns and deletions interleaved, re-learns after deletion).
final class KnowledgeBaseDeleteTests: XCTestCase {
    typealias Rng = PredictorExactnessTests.Rng

    enum Op { case learn([[String]], [String: Double]), delete(String) }

    /// Builds the knowledge base with deletions and the one that never had the deleted learns: a
    /// learn is kept iff no deletion of its pattern follows it.
    static func pair(_ ops: [Op]) -> (withDeletes: KnowledgeBase, never: KnowledgeBase) {
        let a = KnowledgeBase(), b = KnowledgeBase()
        for op in ops {
            switch op {
            case let .learn(events, emotives): a.learn(events: events, emotives: emotives, metadata: [:], persistence: 3)
            case let .delete(name): a.delete(named: name)
            }
        }
        for (t, op) in ops.enumerated() {
            guard case let .learn(events, emotives) = op else { continue }
            let name = Naming.patternHash(events)
            let deletedLater = ops[(t + 1)...].contains { if case .delete(name) = $0 { true } else { false } }
            if !deletedLater { b.learn(events: events, emotives: emotives, metadata: [:], persistence: 3) }
        }
        return (a, b)
    }

    /// Same predictions in the same order with the same floats; `itfdfTolerance` > 0 only where the
    /// symbol ids differ (the cosine sums present symbols outside the state in symbol-id order).
    func assertSame(_ x: Predictor.Output, _ y: Predictor.Output, itfdfTolerance: Double, _ what: String) {
        XCTAssertEqual(x.predictions.count, y.predictions.count, what)
        for (p, q) in zip(x.predictions, y.predictions) {
            var p2 = p, q2 = q
            if itfdfTolerance > 0 {
                XCTAssertEqual(p.itfdfSimilarity, q.itfdfSimilarity, accuracy: itfdfTolerance, what)
                p2.itfdfSimilarity = 0
                q2.itfdfSimilarity = 0
            }
            XCTAssertEqual(p2, q2, what)
            XCTAssertEqual(PredictorExactnessTests.bits(p2), PredictorExactnessTests.bits(q2), "\(what): float bits of \(p.name)")
        }
        XCTAssertEqual(x.futurePotentials == nil, y.futurePotentials == nil, what)
        for (f, g) in zip(x.futurePotentials ?? [], y.futurePotentials ?? []) {
            XCTAssertEqual(f.future, g.future, what)
            XCTAssertEqual(f.supportingPatterns, g.supportingPatterns, what)
            XCTAssertEqual(f.aggregatePotential.bitPattern, g.aggregatePotential.bitPattern, what)
            XCTAssertEqual(f.totalWeightedFrequency.bitPattern, g.totalWeightedFrequency.bitPattern, what)
        }
        XCTAssertEqual(x.futurePotentials?.count, y.futurePotentials?.count, what)
    }

    func testDeletingPatternsPredictsLikeAKnowledgeBaseThatNeverHadThem() throws {
        var rng = Rng(state: 2026)
        var compared = 0, deleted = 0
        for trial in 0..<120 {
            let vocab = PredictorExactnessTests.vocabulary(&rng)
            // Even trials learn every symbol first in a pattern never deleted: both knowledge bases then
            // intern symbols in the same order and every float must be bit-identical.
            let sameSymbolIds = trial % 2 == 0
            var ops: [Op] = sameSymbolIds ? [.learn([vocab], [:])] : []
            var names: [String] = []
            var learned: [[[String]]] = []
            for _ in 0..<rng.int(1...60) {
                if !names.isEmpty && rng.int(0...5) == 0 {
                    ops.append(.delete(rng.pick(names)))
                    continue
                }
                let events = !learned.isEmpty && rng.int(0...4) == 0
                    ? rng.pick(learned) : PredictorExactnessTests.events(&rng, vocab, maxEvents: rng.int(0...7) == 0 ? 12 : 6)
                guard events.reduce(0, { $0 + $1.count }) >= 2 else { continue }
                learned.append(events)
                names.append(Naming.patternHash(events))
                ops.append(.learn(events, rng.int(0...3) == 0 ? ["joy": Double(rng.int(-3...3)) / 4] : [:]))
            }
            if trial % 10 == 1 { for name in Set(names) { ops.append(.delete(name)) } }  // delete everything
            deleted += ops.filter { if case .delete = $0 { true } else { false } }.count
            let (a, b) = Self.pair(ops)
            XCTAssertEqual(a.patternCount, b.patternCount, "trial \(trial)")
            XCTAssertEqual(a.symbolCount, b.symbolCount, "trial \(trial)")
            XCTAssertEqual(a.totals, b.totals, "trial \(trial)")
            XCTAssertEqual(a.snapshot().patterns, b.snapshot().patterns, "trial \(trial)")
            for symbol in vocab {
                XCTAssertEqual(a.symbolStats(symbol)?.frequency ?? 0, b.symbolStats(symbol)?.frequency ?? 0, "trial \(trial) \(symbol)")
                XCTAssertEqual(
                    a.symbolStats(symbol)?.patternMemberFrequency ?? 0, b.symbolStats(symbol)?.patternMemberFrequency ?? 0,
                    "trial \(trial) \(symbol)")
            }
            let sa = a.view(), sb = b.view()
            for _ in 0..<8 {
                let stm = PredictorExactnessTests.events(&rng, vocab + ["unknown1"], maxEvents: 5)
                let threshold = rng.pick([0.0, 0.1, 0.2, 0.5, 0.9])
                let k = rng.pick([1, 3, 100])
                let what = "trial \(trial) stm \(stm) threshold \(threshold) max \(k)"
                let never = try Predictor(kb: sb, stm: stm, recallThreshold: threshold, maxPredictions: k).run { true }
                for exhaustive in [false, true] {
                    let after = try Predictor(kb: sa, stm: stm, recallThreshold: threshold, maxPredictions: k, exhaustive: exhaustive)
                        .run { true }
                    assertSame(after, never, itfdfTolerance: sameSymbolIds ? 0 : 1e-12, "\(what) exhaustive \(exhaustive)")
                }
                if !never.predictions.isEmpty { compared += 1 }
            }
        }
        XCTAssertGreaterThan(compared, 200)
        XCTAssertGreaterThan(deleted, 100)
    }

    func testDeleteOfAnUnknownNameChangesNothingAndARelearnCreatesThePatternAnew() throws {
        let kb = KnowledgeBase()
        kb.learn(events: [["a", "b"], ["c"]], emotives: ["joy": 0.5], metadata: [:], persistence: 5)
        kb.learn(events: [["a", "b"], ["c"]], emotives: [:], metadata: [:], persistence: 5)
        kb.learn(events: [["c"], ["d"]], emotives: [:], metadata: [:], persistence: 5)
        let name = Naming.patternHash([["a", "b"], ["c"]])
        let before = kb.snapshot()
        XCTAssertFalse(kb.delete(named: "PTRN|0000000000000000000000000000000000000000"))
        XCTAssertEqual(kb.snapshot(), before)
        XCTAssertTrue(kb.delete(named: "PTRN|" + name))
        XCTAssertFalse(kb.delete(named: name), "already deleted")
        XCTAssertNil(kb.pattern(named: name))
        XCTAssertEqual(kb.patternCount, 1)
        XCTAssertEqual(kb.symbolCount, 2, "a and b are in no pattern any more")
        XCTAssertNil(kb.symbolStats("a"))
        XCTAssertEqual(kb.symbolStats("c")?.emotives, [:], "the deleted pattern's emotive sums are gone")
        XCTAssertEqual(kb.learn(events: [["a", "b"], ["c"]], emotives: [:], metadata: [:], persistence: 5).frequency, 1)
        XCTAssertEqual(kb.symbolCount, 4)
        XCTAssertEqual(kb.pattern(named: name)?.frequency, 1)
    }

    func testDeleteIsJournaledAndReplays() {
        let kb = KnowledgeBase()
        kb.startJournal()
        kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        kb.learn(events: [["b"], ["c"]], emotives: [:], metadata: [:], persistence: 5)
        kb.delete(named: Naming.patternHash([["a"], ["b"]]))
        let changes = kb.takeJournal()
        XCTAssertEqual(changes.last, .delete(name: Naming.patternHash([["a"], ["b"]])))
        let replica = KnowledgeBase()
        for change in changes { replica.apply(change) }
        XCTAssertEqual(replica.snapshot(), kb.snapshot())
    }
}
