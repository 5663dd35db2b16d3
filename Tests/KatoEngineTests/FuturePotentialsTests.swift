import Foundation
import XCTest
@testable import KatoEngine
import KatoSupport

/// `FuturePotentials`: a computed list (records pointing into the knowledge base's chunks) reads as
/// the values it stands for, through every accessor, with patterns in full chunks and in the last,
/// growing one; it and the values read out of it stay valid while the knowledge base grows; its
/// encoded forms are those of the array of values.
final class FuturePotentialsTests: XCTestCase {
    /// `count` patterns over a small vocabulary (so that a query finds futures in every chunk).
    func learn(_ count: Int, into kb: KnowledgeBase, seed: UInt64) {
        var rng = SplitMix64(state: seed)
        for _ in 0..<count {
            let events = (0..<(2 + rng.below(3))).map { _ in (0..<(1 + rng.below(2))).map { _ in "s\(rng.below(14))" } }
            kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
        }
    }

    func observed(_ engine: KatoEngine) throws -> SessionState {
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.05, maxPredictions: 50))
        try engine.observe(Observation(strings: ["s1"]), in: &session)
        try engine.observe(Observation(strings: ["s2", "s3"]), in: &session)
        return session
    }

    /// Each future's bytes, numbers and value, read through the list's accessors.
    func assertReadsAsValues(_ list: FuturePotentials, file: StaticString = #filePath, line: UInt = #line) throws {
        for i in list.indices {
            let f = list[i]
            let bytes = try XCTUnwrap(list.futureWireBytes(at: i), file: file, line: line)
            XCTAssertEqual(Array(bytes), EventWireTests.reference(f.future), file: file, line: line)
            let n = list.numbers(at: i)
            XCTAssertEqual(n.aggregatePotential.bitPattern, f.aggregatePotential.bitPattern, file: file, line: line)
            XCTAssertEqual(n.supportingPatterns, f.supportingPatterns, file: file, line: line)
            XCTAssertEqual(n.totalWeightedFrequency.bitPattern, f.totalWeightedFrequency.bitPattern, file: file, line: line)
        }
        XCTAssertEqual(FuturePotentials(Array(list)), list, file: file, line: line)
    }

    func testAComputedListOutlivesLaterLearnsAndItsValuesOutliveIt() throws {
        let kb = KnowledgeBase()
        learn(700, into: kb, seed: 3)  // two full chunks and a growing third
        let engine = KatoEngine(knowledgeBase: kb)
        var session = try observed(engine)
        var held: FuturePotentials? = session.futurePotentials
        XCTAssertGreaterThan(held!.count, 100)
        try assertReadsAsValues(held!)
        let futures = held!.map(\.future)
        let bytes = held!.indices.map { Array(held!.futureWireBytes(at: $0)!) }
        let last = held![held!.count - 1]

        // The third chunk fills and more follow; the session computes a new list.
        learn(600, into: kb, seed: 4)
        try engine.observe(Observation(strings: ["s4"]), in: &session)
        try assertReadsAsValues(session.futurePotentials)
        XCTAssertEqual(held!.map(\.future), futures)
        XCTAssertEqual(held!.indices.map { Array(held!.futureWireBytes(at: $0)!) }, bytes)
        held = nil
        XCTAssertEqual(last.future, futures.last)
    }

    func testEncodedFormsAreTheArraysAndEqualityIsByValue() throws {
        let kb = KnowledgeBase()
        learn(300, into: kb, seed: 5)
        let list = try observed(KatoEngine(knowledgeBase: kb)).futurePotentials
        XCTAssertGreaterThan(list.count, 10)
        let values = Array(list)
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys  // (the keys' order is otherwise the dictionary's)
        XCTAssertEqual(try json.encode(list), try json.encode(values))
        let decoded = try JSONDecoder().decode(FuturePotentials.self, from: try JSONEncoder().encode(list))
        XCTAssertEqual(decoded, list)
        XCTAssertEqual(FuturePotentials(values).hashValue, list.hashValue)
        XCTAssertNotEqual(FuturePotentials(Array(values.dropLast())), list)
        XCTAssertEqual([] as FuturePotentials, FuturePotentials([]))
    }
}
