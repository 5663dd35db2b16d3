import Dispatch
import Synchronization
import XCTest
@testable import KatoEngine
import KatoSupport

/// The optimised predictor (early exit, length bound, postings-only candidate filter, hashed future
/// groups, bounded top-k) against its own exhaustive path and against the pre-optimisation predictor
/// (`ReferencePredictor`), on random knowledge bases: same predictions, same order, same floats (bit
/// patterns), same future potentials.
final class PredictorExactnessTests: XCTestCase {
    typealias Rng = SplitMix64

    static func vocabulary(_ rng: inout Rng) -> [String] {
        let size = rng.int(3...40)
        let stems = ["s", "sym", "a", "hello", "x1", "é", "longer_symbol_", "Z"]
        var names: [String] = []
        while names.count < size {
            let name = rng.pick(stems) + String(rng.int(0...60))
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    static func events(_ rng: inout Rng, _ vocab: [String], maxEvents: Int) -> [[String]] {
        (0..<rng.int(1...maxEvents)).map { _ in (0..<rng.int(1...4)).map { _ in rng.pick(vocab) } }
    }

    struct Outcome {
        var predictions: [Prediction]
        var futurePotentials: FuturePotentials?
    }

    func assertIdentical(_ a: Outcome, _ b: Outcome, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.predictions.count, b.predictions.count, "\(what): prediction count", file: file, line: line)
        for (x, y) in zip(a.predictions, b.predictions) {
            XCTAssertEqual(x, y, "\(what): prediction \(x.name) vs \(y.name)", file: file, line: line)
            XCTAssertEqual(Self.bits(x), Self.bits(y), "\(what): float bits of \(x.name)", file: file, line: line)
        }
        XCTAssertEqual(a.futurePotentials == nil, b.futurePotentials == nil, "\(what): future potentials presence", file: file, line: line)
        let fa = a.futurePotentials ?? [], fb = b.futurePotentials ?? []
        XCTAssertEqual(fa.count, fb.count, "\(what): future potential count", file: file, line: line)
        for (x, y) in zip(fa, fb) {
            XCTAssertEqual(x.future, y.future, "\(what): future order", file: file, line: line)
            XCTAssertEqual(x.supportingPatterns, y.supportingPatterns, what, file: file, line: line)
            XCTAssertEqual(x.aggregatePotential.bitPattern, y.aggregatePotential.bitPattern, what, file: file, line: line)
            XCTAssertEqual(x.totalWeightedFrequency.bitPattern, y.totalWeightedFrequency.bitPattern, what, file: file, line: line)
        }
    }

    static func bits(_ p: Prediction) -> [UInt64] {
        [p.potential, p.evidence, p.similarity, p.fragmentation, p.snr, p.entropy, p.normalizedEntropy,
         p.globalNormalizedEntropy, p.confluence, p.predictiveInformation, p.confidence, p.itfdfSimilarity,
         p.patternProbability, p.weightedStrength].map(\.bitPattern)
    }

    func testOptimisedPredictorEqualsExhaustivePartitionedAndReferenceOnRandomKnowledgeBases() throws {
        var rng = Rng(state: 15)
        var nonEmptyResults = 0
        for trial in 0..<160 {
            let vocab = Self.vocabulary(&rng)
            let kb = KnowledgeBase()
            let patternCount = trial % 25 == 0 ? 0 : rng.int(1...80)
            var learned: [[[String]]] = []
            for _ in 0..<patternCount {
                // Sometimes re-learn an earlier pattern (frequency > 1); some long patterns (≥ 20 symbols)
                // exercise the length partitions.
                let events = !learned.isEmpty && rng.int(0...5) == 0
                    ? rng.pick(learned) : Self.events(&rng, vocab, maxEvents: rng.int(0...7) == 0 ? 12 : 6)
                learned.append(events)
                let emotives: [String: Double] = rng.int(0...3) == 0 ? ["joy": Double(rng.int(-3...3))] : [:]
                kb.learn(events: events, emotives: emotives, metadata: [:], persistence: 5)
            }
            let state = kb.view()
            for _ in 0..<8 {
                var stm = Self.events(&rng, vocab + ["unknown1", "zz_unknown"], maxEvents: 5)
                if rng.int(0...9) == 0 { stm = [["unknown1", "zz_unknown"]] }
                let threshold = rng.pick([0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0])
                let k = rng.pick([1, 3, 10, 100])
                let what = "trial \(trial) stm \(stm) threshold \(threshold) max \(k)"
                let fast = try Predictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k)
                    .run(shouldContinue: { true })
                let full = try Predictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k, exhaustive: true)
                    .run(shouldContinue: { true })
                // Split into pieces of ≥ 3 candidates over real Dispatch threads.
                let split = PredictionParallelism(partitions: 3, minimumCandidatesPerPartition: 3) { count, work in
                    DispatchQueue.concurrentPerform(iterations: count, execute: work)
                }
                let parts = try Predictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k, parallelism: split)
                    .run(shouldContinue: { true })
                let ref = try ReferencePredictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k)
                    .run(shouldContinue: { true })
                // The ranking's bounded heap (taken beyond 64 candidates per kept prediction, more
                // than these knowledge bases have): as soon as there are more candidates than k.
                var heapRanked = try Predictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k)
                heapRanked.sortRankingFactor = 1
                let heap = try heapRanked.run(shouldContinue: { true })
                let f = Outcome(predictions: fast.predictions, futurePotentials: fast.futurePotentials)
                assertIdentical(f, Outcome(predictions: heap.predictions, futurePotentials: heap.futurePotentials), "heap-ranked, " + what)
                assertIdentical(f, Outcome(predictions: full.predictions, futurePotentials: full.futurePotentials), "exhaustive, " + what)
                assertIdentical(f, Outcome(predictions: parts.predictions, futurePotentials: parts.futurePotentials), "partitioned, " + what)
                assertIdentical(f, Outcome(predictions: ref.predictions, futurePotentials: ref.futurePotentials), "reference, " + what)
                if !fast.predictions.isEmpty { nonEmptyResults += 1 }
            }
        }
        // The comparison must have compared something.
        XCTAssertGreaterThan(nonEmptyResults, 300)
    }

    /// The split query (``PredictionParallelism``: each piece length-tests and scores its own range of
    /// candidates) against one piece, at several piece counts and minimum piece sizes, with the pieces
    /// run on Dispatch threads and, separately, one after another in reverse order (the result must not
    /// depend on which piece finishes first). Long states (q > 2, the length test applies) and short
    /// ones (q ≤ 2, the length partitions join the candidates) both occur.
    func testSplitPredictionEqualsOnePieceAtEveryPieceCountAndMinimumSize() throws {
        var rng = Rng(state: 1_000_003)
        // Counts the queries that were split (the executor is called only then).
        let splitQueries = SplitCounter()
        let dispatch: @Sendable (Int, @Sendable (Int) -> Void) -> Void = { count, work in
            splitQueries.count.add(1, ordering: .relaxed)
            DispatchQueue.concurrentPerform(iterations: count, execute: work)
        }
        let reversed: @Sendable (Int, @Sendable (Int) -> Void) -> Void = { count, work in
            splitQueries.count.add(1, ordering: .relaxed)
            for part in (0..<count).reversed() { work(part) }
        }
        for trial in 0..<60 {
            let vocab = Self.vocabulary(&rng)
            let kb = KnowledgeBase()
            for _ in 0..<rng.int(20...160) {
                kb.learn(events: Self.events(&rng, vocab, maxEvents: rng.int(0...5) == 0 ? 12 : 6),
                         emotives: [:], metadata: [:], persistence: 5)
            }
            let state = kb.view()
            for _ in 0..<6 {
                let stm = Self.events(&rng, vocab + ["unknown1"], maxEvents: 4)
                let threshold = rng.pick([0.0, 0.1, 0.3, 0.6])
                let k = rng.pick([1, 5, 100])
                let one = try Predictor(kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k)
                    .run(shouldContinue: { true })
                let reference = Outcome(predictions: one.predictions, futurePotentials: one.futurePotentials)
                for partitions in [2, 3, 5] {
                    for minimum in [1, 2, 7] {
                        for (name, execute) in [("dispatch", dispatch), ("reversed", reversed)] {
                            let split = PredictionParallelism(
                                partitions: partitions, minimumCandidatesPerPartition: minimum, execute: execute)
                            let parts = try Predictor(
                                kb: state, stm: stm, recallThreshold: threshold, maxPredictions: k, parallelism: split
                            ).run(shouldContinue: { true })
                            assertIdentical(
                                reference, Outcome(predictions: parts.predictions, futurePotentials: parts.futurePotentials),
                                "trial \(trial) \(partitions) pieces ≥ \(minimum) (\(name)), stm \(stm) threshold \(threshold) max \(k)")
                        }
                    }
                }
            }
        }
        // Most of the comparisons must have compared a split query.
        XCTAssertGreaterThan(splitQueries.count.load(ordering: .relaxed), 1000)
    }

    final class SplitCounter: Sendable { let count = Atomic<Int>(0) }

    func testAQueryIsSplitOnlyFromTheMinimumKnowledgeBaseSizeOn() throws {
        let kb = KnowledgeBase()
        for i in 0..<40 { kb.learn(events: [["a", "b"], ["c\(i)"]], emotives: [:], metadata: [:], persistence: 5) }
        let splits = SplitCounter()
        for (minimumPatterns, expected) in [(41, 0), (40, 1), (0, 2)] {
            var split = PredictionParallelism(partitions: 2, minimumCandidatesPerPartition: 1) { count, work in
                splits.count.add(1, ordering: .relaxed)
                for part in 0..<count { work(part) }
            }
            split.minimumPatterns = minimumPatterns
            let out = try Predictor(kb: kb.view(), stm: [["a", "b"], ["c1"]], recallThreshold: 0.1, maxPredictions: 5, parallelism: split)
                .run(shouldContinue: { true })
            XCTAssertEqual(out.predictions.count, 5)
            XCTAssertEqual(splits.count.load(ordering: .relaxed), expected, "minimum \(minimumPatterns) patterns, 40 learned")
        }
    }

    func testLengthBoundNeverExcludesACandidateThatPasses() {
        // Exhaustive over small lengths: whenever the bound excludes, every achievable LCS fails too.
        for qa in 0...40 {
            for tb in 0...40 {
                for threshold in [0.0, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.6, 0.9, 1.0] {
                    guard Predictor.lengthBoundExcludes(queryLength: qa, textLength: tb, threshold: threshold) else { continue }
                    for lcs in 0...min(qa, tb) {
                        let s = IndelSimilarity.ratio(lcs: lcs, lengthSum: qa + tb)
                        XCTAssertFalse(s >= threshold, "q=\(qa) t=\(tb) lcs=\(lcs) threshold=\(threshold)")
                    }
                }
            }
        }
    }

    func testEmptyKnowledgeBaseAndUnknownStateGiveNoPredictions() throws {
        let empty = KnowledgeBase().view()
        let none = try Predictor(kb: empty, stm: [["a", "b"]], recallThreshold: 0.1, maxPredictions: 10).run { true }
        XCTAssertTrue(none.predictions.isEmpty)
        XCTAssertNil(none.futurePotentials)
        let kb = KnowledgeBase()
        kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        let unknown = try Predictor(kb: kb.view(), stm: [["x"], ["y"], ["z"]], recallThreshold: 0.0, maxPredictions: 10).run { true }
        XCTAssertTrue(unknown.predictions.isEmpty)
        XCTAssertNil(unknown.futurePotentials)
        // q ≤ 2 at threshold 0: block-less length-partition candidates are kept (the shortcut must not apply).
        let zero = try Predictor(kb: kb.view(), stm: [["x"], ["y"]], recallThreshold: 0.0, maxPredictions: 10).run { true }
        XCTAssertEqual(zero.predictions.map(\.name), [Naming.patternHash([["a"], ["b"]])])
    }

    /// difflib's recursion written naively (O(n·m·k) longest match): the oracle for BlockMatcher's fast paths.
    static func naiveBlocks(_ a: [Int], _ b: [Int]) -> [BlockMatcher.Block] {
        var queue = [(0, a.count, 0, b.count)]
        var blocks: [BlockMatcher.Block] = []
        while let (alo, ahi, blo, bhi) = queue.popLast() {
            var best = BlockMatcher.Block(a: alo, b: blo, size: 0)
            for i in alo..<max(alo, ahi) {
                for j in blo..<max(blo, bhi) {
                    var k = 0
                    while i + k < ahi && j + k < bhi && a[i + k] == b[j + k] { k += 1 }
                    if k > best.size { best = BlockMatcher.Block(a: i, b: j, size: k) }
                }
            }
            if best.size > 0 {
                blocks.append(best)
                if alo < best.a && blo < best.b { queue.append((alo, best.a, blo, best.b)) }
                if best.a + best.size < ahi && best.b + best.size < bhi {
                    queue.append((best.a + best.size, ahi, best.b + best.size, bhi))
                }
            }
        }
        blocks.sort { ($0.a, $0.b) < ($1.a, $1.b) }
        var out: [BlockMatcher.Block] = []
        for blk in blocks {
            if let last = out.last, last.a + last.size == blk.a && last.b + last.size == blk.b {
                out[out.count - 1].size += blk.size
            } else {
                out.append(blk)
            }
        }
        return out
    }

    func testBlockMatcherEqualsNaiveDifflibOnRandomSequences() {
        var rng = Rng(state: 99)
        for _ in 0..<3000 {
            let alphabet = rng.int(1...8)
            let b = (0..<rng.int(0...10)).map { _ in rng.int(0...(alphabet - 1)) }
            let a = (0..<rng.int(0...16)).map { _ in rng.int(0...(alphabet + 2)) }
            var slotOf: [Int: Int32] = [:]
            for v in b where slotOf[v] == nil { slotOf[v] = Int32(slotOf.count) }
            var matcher = BlockMatcher(bSlots: b.map { slotOf[$0]! }, slotCount: slotOf.count)
            let aSlots = a.map { slotOf[$0] ?? -1 }
            let got = aSlots.withUnsafeBufferPointer { matcher.matchingBlocks($0) }
            XCTAssertEqual(got, Self.naiveBlocks(a, b), "a=\(a) b=\(b)")
        }
    }

    func testFutureJSONKeyFromSymbolsEqualsThePrefixOfTheJSONText() {
        var rng = Rng(state: 7)
        let vocab = ["a", "sym123", "x", "é", "quote\"d", "it's", "longer_symbol_name", "b\\c", "tab\t"]
        for _ in 0..<2000 {
            let events = Self.events(&rng, vocab, maxEvents: 5)
            let flat = events.flatMap { $0 }
            var ends: [Int] = []
            for e in events { ends.append((ends.last ?? 0) + e.count) }
            let ids = flat.map { s in Int32(vocab.firstIndex(of: s)!) }
            let lazy = PatternShape(name: "n", symbols: flat, eventEnds: ends, flatIds: ids)
            let eager = PatternShape(name: "n", symbols: flat, eventEnds: ends, flatIds: ids, buildJSON: true)
            for k in 0..<events.count {
                let text = Array(eager.futureJSON(from: k))
                var key: UInt64 = 0
                for i in 0..<8 { key = key << 8 | UInt64(i < text.count ? text[i] : 0) }
                XCTAssertEqual(lazy.futureJSONKey(from: k), key, "\(events) from \(k)")
                XCTAssertEqual(Array(lazy.futureJSONText(from: k)), text)
                XCTAssertEqual(Array(lazy.futureJSON(from: k)), text)
            }
        }
    }

    func testStreamedFutureOrderEqualsTheOrderOfTheJSONTexts() {
        var rng = Rng(state: 11)
        let vocab = ["a", "ab", "sym123", "sym12", "x", "é", "quote\"d", "it's", "b\\c", "tab\t", ""]
        func shape(_ events: [[String]]) -> PatternShape {
            var ends: [Int] = []
            for e in events { ends.append((ends.last ?? 0) + e.count) }
            let flat = events.flatMap { $0 }
            return PatternShape(name: "n", symbols: flat, eventEnds: ends, flatIds: flat.map { Int32(vocab.firstIndex(of: $0)!) })
        }
        var before = 0
        for _ in 0..<3000 {
            let a = shape(Self.events(&rng, vocab, maxEvents: 4)), b = shape(Self.events(&rng, vocab, maxEvents: 4))
            let ka = rng.int(0...(a.eventCount - 1)), kb = rng.int(0...(b.eventCount - 1))
            let ta = Array(a.futureJSONText(from: ka)), tb = Array(b.futureJSONText(from: kb))
            XCTAssertEqual(FutureJSONStream.precedes(a, from: ka, b, from: kb), ta.lexicographicallyPrecedes(tb), "\(ta) \(tb)")
            XCTAssertEqual(FutureJSONStream.precedes(b, from: kb, a, from: ka), tb.lexicographicallyPrecedes(ta))
            XCTAssertFalse(FutureJSONStream.precedes(a, from: ka, a, from: ka))
            if ta.lexicographicallyPrecedes(tb) { before += 1 }
        }
        XCTAssertGreaterThan(before, 500)
    }

    func testSameFutureComparesEventsAsMultisets() {
        func shape(_ events: [[Int32]]) -> PatternShape {
            var ends: [Int] = []
            for e in events { ends.append((ends.last ?? 0) + e.count) }
            let flat = events.flatMap { $0 }
            return PatternShape(name: "n", symbols: flat.map { "s\($0)" }, eventEnds: ends, flatIds: flat)
        }
        XCTAssertTrue(shape([[1, 2], [3, 1, 1]]).sameFuture(from: 0, as: shape([[2, 1], [1, 3, 1]]), from: 0))
        XCTAssertFalse(shape([[1, 2], [3, 1, 1]]).sameFuture(from: 0, as: shape([[2, 1], [3, 3, 1]]), from: 0))
        XCTAssertFalse(shape([[1, 1, 2]]).sameFuture(from: 0, as: shape([[1, 2, 2]]), from: 0))
        XCTAssertTrue(shape([[9], [1, 2]]).sameFuture(from: 1, as: shape([[2, 1]]), from: 0))
        let long = (0..<20).map { Int32($0 % 7) }
        XCTAssertTrue(shape([long]).sameFuture(from: 0, as: shape([long.reversed()]), from: 0))
        XCTAssertFalse(shape([long]).sameFuture(from: 0, as: shape([long.map { $0 == 3 ? 4 : $0 }]), from: 0))
    }
}
