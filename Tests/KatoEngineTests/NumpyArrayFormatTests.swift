import XCTest
@testable import KatoEngine

final class NumpyArrayFormatTests: XCTestCase {
    func testSpecVectorsFormatLikeNumpy() {
        XCTAssertEqual(NumpyArrayFormat.string([1, 2, 3]), "[1. 2. 3.]")
        XCTAssertEqual(NumpyArrayFormat.string([0.5, 0.25]), "[0.5  0.25]")
        XCTAssertEqual(NumpyArrayFormat.string([0.1, 0.2, 0.3]), "[0.1 0.2 0.3]")
        XCTAssertEqual(NumpyArrayFormat.string([-1.5, 1e-05, 123456.789, 0.0]),
                       "[-1.50000000e+00  1.00000000e-05  1.23456789e+05  0.00000000e+00]")
    }

    func testSpecVectorSymbolNamesMatchKato() {
        XCTAssertEqual(Naming.vectorSymbol([1, 2, 3]), "VCTR|fe5de4472f7e4d5c9cdd19cadebfa06fe3da8e43")
        XCTAssertEqual(Naming.vectorSymbol([0.5, 0.25]), "VCTR|875812ce99d4b2bc3e5712aae9418ccffba84390")
        XCTAssertEqual(Naming.vectorSymbol([0.1, 0.2, 0.3]), "VCTR|e09ff768f2b2a0f5d5e78932dc977709e8c35f57")
    }

    func testMultipleVectorsInOneObservationAreSummed() throws {
        var (engine, session) = try makeEngine()
        let r = try engine.observe(Observation(vectors: [[1, 2], [3, 4]]), in: &session)
        XCTAssertEqual(r.symbols, [Naming.vectorSymbol([4, 6])])
    }

    func testLongArraysWrapAt75ColumnsAndSummariseAbove1000Elements() {
        XCTAssertEqual(NumpyArrayFormat.string(Array(repeating: 1.0, count: 30)),
                       "[1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1.\n 1. 1. 1. 1. 1. 1.]")
        let summary = NumpyArrayFormat.string((0..<1200).map { Double($0) / 7 })
        XCTAssertEqual(summary, "[0.00000000e+00 1.42857143e-01 2.85714286e-01 ... 1.71000000e+02\n 1.71142857e+02 1.71285714e+02]")
    }

    func testEveryNumpyFixtureFormatsIdentically() throws {
        let fixtures = try loadFixture("numpy_array_str.json")
        XCTAssertGreaterThan(fixtures.count, 500)
        var failures = 0
        for f in fixtures {
            let values = (f["hex"] as! [String]).map(double(fromHex:))
            let text = f["text"] as! String
            let actual = NumpyArrayFormat.string(values)
            if actual != text {
                failures += 1
                if failures < 10 { XCTFail("\(values): expected \(text.debugDescription), got \(actual.debugDescription)") }
            } else {
                XCTAssertEqual(Naming.vectorSymbol(values), f["name"] as? String)
            }
        }
        XCTAssertEqual(failures, 0)
    }
}
