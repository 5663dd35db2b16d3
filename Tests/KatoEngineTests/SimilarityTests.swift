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
