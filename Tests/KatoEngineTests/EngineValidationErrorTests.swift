import XCTest
@testable import KatoEngine

final class EngineValidationErrorTests: XCTestCase {
    func field(_ o: Observation, limits: ObservationLimits = .defaults) -> String? {
        do {
            try o.validate(limits: limits)
            return nil
        } catch {
            return error.field
        }
    }

    func testEmptyStringsAreValidSymbols() throws {
        var (engine, s) = try makeEngine()
        XCTAssertEqual(try engine.observe(Observation(strings: ["", "a"]), in: &s).symbols, ["", "a"])
    }

    func testNonFiniteNumbersAreRejectedNamingTheField() {
        XCTAssertEqual(field(Observation(vectors: [[1, .nan]])), "vectors[0][1]")
        XCTAssertEqual(field(Observation(vectors: [[1, 2], [.infinity, 0]])), "vectors[1][0]")
        XCTAssertEqual(field(Observation(emotives: ["joy": .nan])), "emotives.joy")
        XCTAssertEqual(field(Observation(metadata: ["m": .array([.double(.infinity)])])), "metadata.m")
    }

    func testMismatchedOrEmptyVectorDimensionsAreRejected() {
        XCTAssertEqual(field(Observation(vectors: [[1, 2], [1, 2, 3]])), "vectors[1]")
        XCTAssertEqual(field(Observation(vectors: [[]])), "vectors[0]")
    }

    func testLimitsAreEnforced() {
        let limits = ObservationLimits(maxSymbolsPerEvent: 2, maxSymbolBytes: 3)
        XCTAssertEqual(field(Observation(strings: ["a", "b", "c"]), limits: limits), "strings")
        XCTAssertEqual(field(Observation(strings: ["abcd"]), limits: limits), "strings[0]")
    }

    func testValidationFailureLeavesSessionUnchanged() throws {
        var (engine, s) = try makeEngine()
        try engine.observe(Observation(strings: ["a"]), in: &s)
        let before = s
        XCTAssertThrowsError(try engine.observe(Observation(strings: ["b"], emotives: ["x": .nan]), in: &s))
        XCTAssertEqual(s, before)
    }

    func testHugeInputsDoNotCrash() throws {
        var (engine, s) = try makeEngine()
        let many = (0..<100_000).map { "s\($0)" }
        let r = try engine.observe(Observation(strings: many), in: &s)
        XCTAssertEqual(r.symbols.count, 100_000)
        let big = String(repeating: "x", count: 1 << 20)
        try engine.observe(Observation(strings: [big]), in: &s)
        let name = engine.learn(in: &s).patternName
        XCTAssertEqual(engine.pattern(named: name)?.length, 100_001)
        XCTAssertEqual(NumpyArrayFormat.string(Array(repeating: 1e300, count: 100_000)).hasPrefix("[1.e+300 1.e+300 1.e+300 ..."), true)
    }

    func testOverflowingVectorSumStillGetsANumpyName() throws {
        var (engine, s) = try makeEngine()
        let r = try engine.observe(Observation(vectors: [[1.7e308, 1], [1.7e308, 1]]), in: &s)
        XCTAssertEqual(r.symbols, [Naming.vectorSymbol([.infinity, 2])])
        XCTAssertEqual(NumpyArrayFormat.string([.infinity, 1]), "[inf  1.]")
    }
}
