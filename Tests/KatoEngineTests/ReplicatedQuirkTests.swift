import XCTest
@testable import KatoEngine

/// Quirks of KATO v2.0.0 that kato replicates on purpose (kato-semantics §8, DESIGN "Fidelity").
final class ReplicatedQuirkTests: XCTestCase {
    func testEntropyIsAlwaysZeroAndConfluenceZeroInTheNoRedisRegime() throws {  // Q1, Q2
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["a", "b"], ["c", "d"], ["e", "f"]], in: &s)
        try engine.observeEvents([["a", "b"], ["c"]], in: &s)
        let p = try XCTUnwrap(s.predictions.first)
        XCTAssertEqual(p.entropy, 0)
        XCTAssertEqual(p.confluence, 0)
        // normalized_entropy = Σ over state WITH repetition of −p·log_6(p), p = 1/3 → ln 3 / ln 6.
        XCTAssertEqual(p.normalizedEntropy, 0.6131471927654584, accuracy: 1e-12)
        XCTAssertEqual(p.globalNormalizedEntropy, 0.5, accuracy: 1e-12)
        XCTAssertEqual(p.itfdfSimilarity, 0.8660254037844387, accuracy: 1e-12)
    }

    func testNormalizedEntropyCountsRepeatedSymbolsEachTime() throws {  // Q1
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["a"], ["a"], ["b"]], in: &s)
        try engine.observeEvents([["a"], ["a"]], in: &s)
        // state [a, a]: p(a) = 1, contributes 0 twice.
        XCTAssertEqual(s.predictions.first?.normalizedEntropy, 0)
    }

    func testCandidateFilterExcludesLongPatternsWhenShortOnesExist() throws {  // Q11
        var (engine, s) = try makeEngine()
        let long = (0..<25).map { ["L\($0)"] }
        try engine.learnEvents([["q"]] + long, in: &s)  // 26 symbols → partition 2
        try engine.learnEvents([["z"], ["w"]], in: &s)  // 2 symbols → partition 0
        try engine.observeEvents([["q"], ["L0"], ["L1"]], in: &s)
        XCTAssertTrue(s.predictions.isEmpty, "the long pattern is outside the length partitions")
    }

    func testSimilarityIsCharacterLevel() throws {  // Q12
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["abcd"], ["xyz"]], in: &s)
        try engine.observeEvents([["abce"], ["xyz"]], in: &s)
        let p = try XCTUnwrap(s.predictions.first)
        // "abcd xyz" vs "abce xyz": LCS 7 of 16 characters.
        XCTAssertEqual(p.similarity, 14.0 / 16.0, accuracy: 1e-12)
    }

    func testSymbolStatisticsCountEveryLearnEvent() throws {  // Q19
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["a"], ["a", "b"]], in: &s)
        try engine.learnEvents([["a"], ["a", "b"]], in: &s)
        let a = try XCTUnwrap(engine.knowledgeBase.symbolStats("a"))
        XCTAssertEqual(a.frequency, 4)
        XCTAssertEqual(a.patternMemberFrequency, 2)
        XCTAssertEqual(engine.knowledgeBase.totals, KnowledgeBaseTotals(
            totalPatternFrequencies: 2, totalSymbolFrequencies: 6, totalSymbolsInPatternsFrequencies: 4))
    }

    func testPastTailMovesIntoPresentWhenItContainsTheFirstMatch() throws {  // Q20
        var (engine, s) = try makeEngine()
        // Pattern [[a, x], [b], [a], [c]]: state [a, c] matches the LATER "a"; past[-1] is [b]? No:
        // blocks: a@2? SequenceMatcher finds "a" at i=0 first, so use a pattern where the first event
        // contains the first match but the match itself lies in a later event.
        try engine.learnEvents([["b", "m"], ["k"], ["m", "n"]], in: &s)
        try engine.observeEvents([["m"], ["n"]], in: &s)
        let p = try XCTUnwrap(s.predictions.first)
        // Longest block is [m, n] at i = 3; past_flat = [b, m, k] → past [[b, m], [k]]; past[-1] = [k]
        // does not contain "m", so no fix-up: present [[m, n]].
        XCTAssertEqual(p.past, [["b", "m"], ["k"]])
        XCTAssertEqual(p.present, [["m", "n"]])

        (engine, s) = try makeEngine()
        try engine.learnEvents([["b", "m"], ["m", "n"]], in: &s)
        try engine.observeEvents([["m"], ["n"]], in: &s)
        let q = try XCTUnwrap(s.predictions.first)
        // Block [m, n] at i = 2; past [[b, m]] contains matches[0] = "m" → moved into present.
        XCTAssertEqual(q.past, [])
        XCTAssertEqual(q.present, [["b", "m"], ["m", "n"]])
        XCTAssertEqual(q.missing, [["b"], []])
    }

    func testTimeCountsObservationsWithoutSymbols() throws {  // Q14 (within a session)
        var (engine, s) = try makeEngine()
        try engine.observe(Observation(), in: &s)
        try engine.observe(Observation(metadata: ["k": .string("v")]), in: &s)
        XCTAssertEqual(try engine.observe(Observation(strings: ["a"]), in: &s).time, 3)
    }

    func testPredictionsAreThoseOfTheLastObserveAndLearnDoesNotRecompute() throws {  // Q5 (within a session)
        var (engine, s) = try makeEngine()
        try engine.learnEvents([["a"], ["b"], ["c"]], in: &s)
        try engine.observeEvents([["a"], ["b"]], in: &s)
        XCTAssertEqual(s.predictions.count, 1)
        engine.learn(in: &s)
        XCTAssertEqual(s.predictions.count, 1)
        try engine.observe(Observation(strings: ["a"]), in: &s)
        XCTAssertEqual(s.predictions, [])
        XCTAssertEqual(s.futurePotentials.count, 1, "future potentials stay from the last computation")
        engine.clearSTM(in: &s)
        XCTAssertEqual(s.futurePotentials.count, 1)
    }

    func testVectorSymbolsPrecedeSortedStrings() throws {
        var (engine, s) = try makeEngine()
        let r = try engine.observe(Observation(strings: ["zz", "aa"], vectors: [[0.25, 0.75]]), in: &s)
        XCTAssertEqual(r.symbols, ["VCTR|7c9124e4b6e0f00b481af2a2d7094009a9e1ec3f", "aa", "zz"])
    }

    func testUnsortedSymbolsWhenSortIsOff() throws {
        var (engine, s) = try makeEngine(EngineConfig(sortSymbols: false))
        XCTAssertEqual(try engine.observe(Observation(strings: ["b", "a"]), in: &s).symbols, ["b", "a"])
    }
}
