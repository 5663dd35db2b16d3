import XCTest
@testable import KatoEngine

final class SimilarityTests: XCTestCase {
    func testBitParallelLCSEqualsDynamicProgrammingOnFixtures() throws {
        for f in try loadFixture("lcs.json") {
            let a = (f["a"] as! String).unicodeScalars.map(\.value)
            let b = (f["b"] as! String).unicodeScalars.map(\.value)
            XCTAssertEqual(IndelSimilarity(query: a).lcs(b), f["lcs"] as? Int, "\(f["a"]!) / \(f["b"]!)")
            XCTAssertEqual(IndelSimilarity(query: b).lcs(a), f["lcs"] as? Int)
        }
    }

    func testCharacterSimilarityOfWorkedExample() {
        // kato-semantics §4.8: "hello world foo" vs "hello world" = 2·11/26.
        let sim = IndelSimilarity(query: Array("hello world".unicodeScalars.map(\.value)))
            .similarity(Array("hello world foo".unicodeScalars.map(\.value)))
        XCTAssertEqual(sim, 22.0 / 26.0, accuracy: 1e-12)
    }

    func testMatchingBlocksEqualDifflibWithoutAutojunk() throws {
        for f in try loadFixture("difflib_blocks.json") {
            let a = f["a"] as! [Int]
            let b = f["b"] as! [Int]
            let expected = (f["blocks"] as! [[Int]]).dropLast()  // without the sentinel
            let distinct = Array(Set(b)).sorted()
            let slotOf = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, Int32($0)) })
            var matcher = BlockMatcher(bSlots: b.map { slotOf[$0]! }, slotCount: distinct.count)
            let aSlots = a.map { slotOf[$0] ?? -1 }
            let blocks = aSlots.withUnsafeBufferPointer { matcher.matchingBlocks($0) }
            XCTAssertEqual(blocks.map { [$0.a, $0.b, $0.size] }, Array(expected), "a=\(a) b=\(b)")
        }
    }
}

/// The AVX2 kernel (four texts in the lanes of one register) against the scalar loop.
final class VectorisedSimilarityTests: XCTestCase {
    func testVectorisedFourTextSimilaritiesEqualTheScalarOnesBitForBit() throws {
        guard IndelSimilarity.cpuHasAVX2 else {
            throw XCTSkip("this CPU has no AVX2: the engine runs the scalar loop only (tested everywhere else)")
        }
        var rng = PredictorExactnessTests.Rng(state: 0x5eed)
        // Small alphabets (many matches, long carries) and the benchmark's "symNNN" texts; lengths
        // 1…150 so that every remainder of the 4-character blocks and every tail length occurs.
        let alphabets: [[UInt8]] = [Array("ab".utf8), Array("abcd ".utf8), Array("sym0123456789 ".utf8),
                                    (32..<127).map { UInt8($0) }]
        for trial in 0..<3000 {
            let alphabet = alphabets[trial % alphabets.count]
            func text(_ range: ClosedRange<Int>) -> [UInt8] {
                (0..<rng.int(range)).map { _ in alphabet[rng.int(0...(alphabet.count - 1))] }
            }
            let query = text(1...64).map(UInt32.init)
            let texts = (0..<4).map { _ in text(1...150) }
            let vector = IndelSimilarity(query: query, vectorised: true)
            let scalar = IndelSimilarity(query: query, vectorised: false)
            let v = vector.similarities(texts[0], texts[1], texts[2], texts[3])
            let s = scalar.similarities(texts[0], texts[1], texts[2], texts[3])
            let vs = [v.0, v.1, v.2, v.3].map(\.bitPattern), ss = [s.0, s.1, s.2, s.3].map(\.bitPattern)
            XCTAssertEqual(vs, ss, "trial \(trial)")
            for (t, expected) in zip(texts, [s.0, s.1, s.2, s.3]) {
                XCTAssertEqual(scalar.similarity(t.map(UInt32.init)).bitPattern, expected.bitPattern, "trial \(trial)")
            }
        }
    }
}
