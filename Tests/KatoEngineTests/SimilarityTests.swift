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

/// The AVX-512 kernel (eight texts in the lanes of one register, the query's alphabet compressed to
/// at most 15 characters looked up in registers) against the scalar loop.
final class EightLaneSimilarityTests: XCTestCase {
    func testEightTextSimilaritiesEqualTheScalarOnesBitForBit() throws {
        guard IndelSimilarity.cpuHasAVX512 else {
            throw XCTSkip("this CPU has no AVX-512 (F, BW, VBMI): the engine runs the AVX2 or scalar loop (tested above)")
        }
        var rng = PredictorExactnessTests.Rng(state: 0xe1a7)
        // Small alphabets (many matches, long carries), the benchmark's "symNNN" texts, and a text
        // alphabet wider than the query's (characters outside the query map to index 0); text lengths
        // 1…150 so that every remainder of the 8-character blocks and every tail length occurs.
        let alphabets: [[UInt8]] = [Array("ab".utf8), Array("abcd ".utf8), Array("sym0123456789 ".utf8),
                                    Array("0123456789abcdefg".utf8), (32..<127).map { UInt8($0) }]
        var eightLaneQueries = 0
        for trial in 0..<3000 {
            let alphabet = alphabets[trial % alphabets.count]
            func text(_ range: ClosedRange<Int>, _ from: [UInt8]) -> [UInt8] {
                (0..<rng.int(range)).map { _ in from[rng.int(0...(from.count - 1))] }
            }
            // Queries over a prefix of the alphabet of up to 15 characters (the kernel's limit) and,
            // one trial in five, over the whole alphabet (more than 15 distinct: the kernel must decline).
            let queryAlphabet = trial % 5 == 4 ? alphabet : Array(alphabet.prefix(rng.int(1...15)))
            let query = text(1...64, queryAlphabet).map(UInt32.init)
            let texts = (0..<8).map { _ in text(1...150, alphabet) }
            let wide = IndelSimilarity(query: query, vectorised: true, wide: true)
            let scalar = IndelSimilarity(query: query, vectorised: false, wide: false)
            XCTAssertEqual(wide.hasEightLanes, Set(query).count <= 15, "trial \(trial)")
            guard wide.hasEightLanes else { continue }
            eightLaneQueries += 1
            var out = [Double](repeating: -1, count: 8)
            // The eight texts back to back in one buffer (as the scoring's texts sit in their patterns).
            let joined = texts.flatMap { $0 }
            joined.withUnsafeBufferPointer { all in
                var start = 0
                var views: [UnsafeBufferPointer<UInt8>] = []
                for t in texts {
                    views.append(UnsafeBufferPointer(rebasing: all[start..<(start + t.count)]))
                    start += t.count
                }
                views.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { wide.similarities8(v.baseAddress!, into: $0.baseAddress!) }
                }
            }
            for (k, t) in texts.enumerated() {
                XCTAssertEqual(out[k].bitPattern, scalar.similarity(t.map(UInt32.init)).bitPattern, "trial \(trial) text \(k)")
            }
        }
        XCTAssertGreaterThan(eightLaneQueries, 2000)
        // A query over 64 characters is multi-word: the kernel does not apply.
        XCTAssertFalse(IndelSimilarity(query: [UInt32](repeating: 97, count: 65), wide: true).hasEightLanes)
    }
}
