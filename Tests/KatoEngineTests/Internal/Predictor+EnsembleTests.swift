import XCTest

@testable import KatoEngine

/// `Predictor.sortKeys` (the future-potential order and the ranking by sort) against the library's
/// sort by the same `less`: its bucket pass must give the same order for any keys, including many
/// equal `primary`s, keys differing only in low bits, and sizes around the bucket pass's threshold.
final class PredictorEnsembleTests: XCTestCase {
    private func check(_ keys: [Predictor.GroupKey], file: StaticString = #filePath, line: UInt = #line) {
        var sorted = keys
        sorted.withUnsafeMutableBufferPointer { Predictor.sortKeys($0) }
        let expected = keys.sorted(by: Predictor.less)
        XCTAssertEqual(sorted.map(\.group), expected.map(\.group), file: file, line: line)
    }

    func testBucketedSortGivesTheComparisonOrderForRandomKeys() {
        var rng = SplitMix64(seed: 15)
        for round in 0..<400 {
            let n = [0, 1, 2, 17, 63, 64, 65, 66, 200, 1_065, 3_000][round % 11]
            // Primaries from a few shapes: fully random, a narrow band (only low bits vary), few
            // distinct values (long equal runs), all equal, and aggregates' order keys.
            let kind = (round / 11) % 5
            let distinct = 1 + Int(rng.next() % 8)
            let base = rng.next()
            var keys: [Predictor.GroupKey] = []
            for g in 0..<n {
                let primary: UInt64
                switch kind {
                case 0: primary = rng.next()
                case 1: primary = base &+ (rng.next() & 0xFFF)
                case 2: primary = base &+ UInt64(Int(rng.next() % UInt64(distinct)))
                case 3: primary = base
                default: primary = ~Predictor.orderKey(Double(rng.next() % 1_000) / Double(1 + rng.next() % 5_000))
                }
                let json = rng.next() % 4 == 0 ? 0 : rng.next() % 3
                keys.append(Predictor.GroupKey(primary: primary, json: json, group: Int32(g)))
            }
            keys.shuffle(using: &rng)
            check(keys)
        }
    }
}
