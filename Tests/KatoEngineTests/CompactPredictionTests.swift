import Foundation
import XCTest
@testable import KatoEngine
import KatoSupport

/// Issue 15: a computed `Prediction` is compact (pattern + alignment bits, arrays built when read).
/// It must be the same value as the prediction with every field explicit: equal, same hash, same
/// `Codable` form, and the in-place readers — per symbol (`forEachSymbol`, `forEachMatch`,
/// `forEachFutureSymbol`) and per event (`forEachEvent`, `forEachMatchPiece`, `forEachFutureEvent`)
/// — must give exactly the arrays.
final class CompactPredictionTests: XCTestCase {
    /// The prediction rebuilt from its accessors with the public initialiser (every field explicit).
    private func explicitCopy(_ p: Prediction) -> Prediction {
        Prediction(
            type: p.type, name: p.name, frequency: p.frequency, emotives: p.emotives, matches: p.matches, past: p.past,
            present: p.present, missing: p.missing, extras: p.extras, future: p.future, sequence: p.sequence,
            potential: p.potential, evidence: p.evidence, similarity: p.similarity, fragmentation: p.fragmentation,
            snr: p.snr, entropy: p.entropy, normalizedEntropy: p.normalizedEntropy,
            globalNormalizedEntropy: p.globalNormalizedEntropy, confluence: p.confluence,
            predictiveInformation: p.predictiveInformation, confidence: p.confidence, itfdfSimilarity: p.itfdfSimilarity,
            patternProbability: p.patternProbability, weightedStrength: p.weightedStrength)
    }

    private func inPlace(_ p: Prediction, _ field: Prediction.EventsField) -> [[String]] {
        (0..<p.eventCount(field)).map { k in
            var event: [String] = []
            p.forEachSymbol(in: field, event: k) { event.append($0) }
            return event
        }
    }

    /// The field rebuilt from the per-event reader: pieces of one event concatenated, selected bits only;
    /// also checks its contract (events in order, each at least once, pieces of at most 64 symbols).
    private func perEvent(_ p: Prediction, _ field: Prediction.EventsField) -> [[String]] {
        var out: [[String]] = []
        p.forEachEvent(in: field) { k, symbols, selected in
            XCTAssertLessThanOrEqual(symbols.count, 64)
            if symbols.count < 64 { XCTAssertEqual(selected >> UInt64(symbols.count), 0, "bits beyond the piece") }
            if k == out.count { out.append([]) }
            XCTAssertEqual(k, out.count - 1, "events in order, none skipped")
            for i in symbols.indices where selected & (1 << UInt64(i)) != 0 { out[k].append(symbols[i]) }
        }
        return out
    }

    private func perPiece(_ p: Prediction) -> [String] {
        var out: [String] = []
        p.forEachMatchPiece { symbols, selected in
            XCTAssertLessThanOrEqual(symbols.count, 64)
            for i in symbols.indices where selected & (1 << UInt64(i)) != 0 { out.append(symbols[i]) }
        }
        return out
    }

    private func perFutureEvent(_ f: FuturePotential) -> [[String]] {
        var out: [[String]] = []
        f.forEachFutureEvent { k, symbols in
            XCTAssertEqual(k, out.count)
            out.append(symbols.indices.map { symbols[$0] })
        }
        return out
    }

    /// The per-piece, per-symbol and per-event readers of `p` and of its explicit copy give `p`'s
    /// arrays, field by field.
    private func assertInPlaceReadersAgree(_ p: Prediction, _ copy: Prediction, line: UInt = #line) {
        XCTAssertEqual(perPiece(p), p.matches, line: line)
        XCTAssertEqual(perPiece(copy), p.matches, "explicit", line: line)
        for field in Prediction.EventsField.allCases {
            XCTAssertEqual(inPlace(p, field), p.events(field), "\(field) per symbol", line: line)
            XCTAssertEqual(inPlace(copy, field), p.events(field), "\(field) per symbol (explicit)", line: line)
            XCTAssertEqual(perEvent(p, field), p.events(field), "\(field) per event", line: line)
            XCTAssertEqual(perEvent(copy, field), p.events(field), "\(field) per event (explicit)", line: line)
        }
    }

    func testComputedPredictionsEqualTheirExplicitFormAndReadTheSameInPlace() throws {
        var rng = SplitMix64(state: 1515)
        var seen = 0, withMissing = 0, withExtras = 0, withEmotives = 0
        for round in 0..<8 {
            let engine = KatoEngine(knowledgeBase: KnowledgeBase())
            var learner = try SessionState()
            let vocabulary = 4 + round * 3
            for _ in 0..<(15 + round * 5) {
                for _ in 0..<(2 + Int(rng.next() % 3)) {
                    let symbols = (0..<(1 + Int(rng.next() % 3))).map { _ in "s\(rng.next() % UInt64(vocabulary))é" }
                    let emotives: [String: Double] = rng.next() % 3 == 0 ? ["joy": Double(rng.next() % 7), "calm": -0.5] : [:]
                    try engine.observe(Observation(strings: symbols, emotives: emotives), in: &learner)
                }
                engine.learn(in: &learner)
            }
            var session = try SessionState()
            for _ in 0..<10 {
                let symbols = (0..<(1 + Int(rng.next() % 3))).map { _ in "s\(rng.next() % UInt64(vocabulary + 2))é" }
                try engine.observe(Observation(strings: symbols), in: &session)
                for p in session.predictions {
                    seen += 1
                    if p.missing.contains(where: { !$0.isEmpty }) { withMissing += 1 }
                    if p.extras.contains(where: { !$0.isEmpty }) { withExtras += 1 }
                    if !p.emotives.isEmpty { withEmotives += 1 }
                    let copy = explicitCopy(p)
                    XCTAssertEqual(p, copy)
                    XCTAssertEqual(p.hashValue, copy.hashValue)
                    var matches: [String] = []
                    p.forEachMatch { matches.append($0) }
                    XCTAssertEqual(matches, p.matches)
                    assertInPlaceReadersAgree(p, copy)
                    let sorted = JSONEncoder()
                    sorted.outputFormatting = .sortedKeys  // dictionary order is per instance
                    let encoded = try sorted.encode(p)
                    XCTAssertEqual(encoded, try sorted.encode(copy))
                    XCTAssertEqual(try JSONDecoder().decode(Prediction.self, from: encoded), p)
                }
                for f in session.futurePotentials {
                    let read = (0..<f.futureEventCount).map { k in
                        var event: [String] = []
                        f.forEachFutureSymbol(event: k) { event.append($0) }
                        return event
                    }
                    XCTAssertEqual(read, f.future)
                    XCTAssertEqual(perFutureEvent(f), f.future)
                }
            }
        }
        // The comparison covered what it is about.
        XCTAssertGreaterThan(seen, 200)
        XCTAssertGreaterThan(withMissing, 20)
        XCTAssertGreaterThan(withExtras, 20)
        XCTAssertGreaterThan(withEmotives, 5)
    }

    /// Events and an STM longer than 64 symbols: the per-event readers hand them over in pieces of 64
    /// whose selection bits cross the words of the alignment's bit sets.
    func testPerEventReadersSplitLongEventsIntoPiecesAndKeepTheirBits() throws {
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var learner = try SessionState()
        let long = (0..<150).map { "p\($0)" }
        for event in [["a", "b"], long, ["z"] + (0..<70).map { "f\($0)" }] {
            try engine.observe(Observation(strings: event), in: &learner)
        }
        engine.learn(in: &learner)
        var session = try SessionState()
        // Matches and extras interleaved across the 64-symbol boundaries of the STM and of the pattern.
        let stm = (0..<140).map { $0 % 3 == 0 ? "x\($0)" : "p\($0)" }
        try engine.observe(Observation(strings: ["a"]), in: &session)
        try engine.observe(Observation(strings: stm), in: &session)
        let p = try XCTUnwrap(session.predictions.first)
        // The long present event misses p0, p3, …, p138 and p140…p149; the x symbols are extras.
        XCTAssertGreaterThan(p.missing.last?.count ?? 0, 50)
        XCTAssertGreaterThan(p.extras.last?.count ?? 0, 40)
        assertInPlaceReadersAgree(p, explicitCopy(p))
        for f in session.futurePotentials { XCTAssertEqual(perFutureEvent(f), f.future) }
    }

    func testSettingAFieldOfAComputedPredictionChangesThatFieldOnly() throws {
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var s = try SessionState()
        for event in [["a", "b"], ["c"], ["d", "e"]] { try engine.observe(Observation(strings: event), in: &s) }
        engine.learn(in: &s)
        try engine.observe(Observation(strings: ["a", "b"]), in: &s)
        try engine.observe(Observation(strings: ["c", "x"]), in: &s)
        var p = try XCTUnwrap(s.predictions.first)
        let before = explicitCopy(p)
        p.missing = [["changed"]]
        p.matches = ["m"]
        XCTAssertEqual(p.missing, [["changed"]])
        XCTAssertEqual(p.matches, ["m"])
        XCTAssertEqual(p.eventCount(.missing), 1)
        XCTAssertEqual(p.past, before.past)
        XCTAssertEqual(p.present, before.present)
        XCTAssertEqual(p.extras, before.extras)
        XCTAssertEqual(p.future, before.future)
        XCTAssertEqual(p.sequence, before.sequence)
        XCTAssertNotEqual(p, before)
        XCTAssertEqual(before.extras, [[], ["x"]])
    }
}
