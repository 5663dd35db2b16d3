import KatoSupport
import XCTest

/// KatoSupport's SplitMix64, which every randomized engine test draws from: it must be the published
/// generator, so a seed named by a failing test reproduces the same run anywhere.
final class SplitMix64Tests: XCTestCase {
    func testSeedZeroGivesThePublishedSequence() {
        var rng = SplitMix64(state: 0)
        XCTAssertEqual((0..<4).map { _ in rng.next() },
                       [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC])
    }

    func testMixIsTheFirstOutputOfAGeneratorAtThatState() {
        for x: UInt64 in [0, 1, 42, .max] {
            var rng = SplitMix64(seed: x)
            XCTAssertEqual(SplitMix64.mix(x), rng.next())
        }
    }

    func testDrawsStayInTheirRanges() {
        var rng = SplitMix64(state: 7)
        for _ in 0..<1000 {
            XCTAssertTrue((3...9).contains(rng.int(3...9)))
            XCTAssertTrue((0..<5).contains(rng.below(5)))
            XCTAssertTrue(["a", "b"].contains(rng.pick(["a", "b"])))
        }
    }
}
