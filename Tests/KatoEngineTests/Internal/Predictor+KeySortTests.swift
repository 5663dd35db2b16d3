import XCTest

@testable import KatoEngine
import KatoSupport

/// `Predictor.sortKeys` (the `future_potentials` order and the ranking by sort) against the library's
/// sort by the same `less`, on the key shapes the engine produces (few distinct aggregates, JSON keys
/// differing in low bits) and others (all distinct, all equal, every bit varying), in `group` order
/// and shuffled, around the radix threshold (256): any faster sort put there must pass it too.
final class PredictorKeySortTests: XCTestCase {
    private func check(_ keys: [Predictor.GroupKey], file: StaticString = #filePath, line: UInt = #line) {
        var sorted = keys
        sorted.withUnsafeMutableBufferPointer { Predictor.sortKeys($0) }
        let expected = keys.sorted(by: Predictor.less)
        XCTAssertEqual(sorted.map(\.group), expected.map(\.group), file: file, line: line)
    }

    func testSortGivesTheComparisonOrderForRandomKeys() {
        var rng = SplitMix64(seed: 15)
        for round in 0..<600 {
            let n = [0, 1, 2, 17, 64, 255, 256, 257, 300, 1_065, 3_000][round % 11]
            let primaryKind = (round / 11) % 5
            let jsonKind = (round / 55) % 3
            let distinct = 1 + Int(rng.next() % UInt64(1 + (round % 7 == 0 ? n : 40)))
            let base = rng.next(), jsonBase = rng.next()
            var keys: [Predictor.GroupKey] = []
            for g in 0..<n {
                let primary: UInt64
                switch primaryKind {
                case 0: primary = rng.next()  // all distinct: the comparison sort
                case 1: primary = base &+ (rng.next() & 0xF) << 40  // few values, high bits
                case 2: primary = base &+ UInt64(Int(rng.next() % UInt64(distinct)))  // runs of equal ones
                case 3: primary = base  // all equal
                default: primary = ~Predictor.orderKey(Double(rng.next() % 60) / Double(1 + rng.next() % 3))
                }
                let json: UInt64
                switch jsonKind {
                case 0: json = jsonBase &+ rng.next() % 3  // low bits (and carries) vary
                case 1: json = rng.next()  // every bit may vary: too wide with the ranks
                default: json = rng.next() % 4 == 0 ? 0 : jsonBase | (rng.next() & 0xFFFF)
                }
                keys.append(Predictor.GroupKey(primary: primary, json: json, group: Int32(g)))
            }
            check(keys)  // ascending `group`: the packed path where it fits
            keys.shuffle(using: &rng)
            check(keys)  // not in `group` order: the comparison sort
        }
    }

    /// `sortKeys(_:upTo:)` (the ranking's): the first `limit` keys in the full order, then the rest of
    /// the tie run (equal `primary` and `json`) of key `limit − 1`, all of it — so the ranking's name
    /// order over that run decides which keys are kept. Ties are made frequent on purpose.
    func testSortUpToALimitGivesTheFirstKeysAndTheRestOfTheirTieRun() {
        var rng = SplitMix64(seed: 1512)
        for round in 0..<1_500 {
            let n = 1 + Int(rng.next() % 300)
            let distinct = 1 + Int(rng.next() % UInt64(1 + (round % 3 == 0 ? n : 6)))
            var keys: [Predictor.GroupKey] = []
            for g in 0..<n {
                let primary = UInt64(rng.next() % UInt64(distinct))
                let json = round % 2 == 0 ? UInt64(rng.next() % 3) : rng.next()
                keys.append(Predictor.GroupKey(primary: primary, json: json, group: Int32(g)))
            }
            if round % 4 == 1 { keys.shuffle(using: &rng) }
            let limit = Int(rng.next() % UInt64(n + 1))
            var partial = keys
            partial.withUnsafeMutableBufferPointer { Predictor.sortKeys($0, upTo: limit) }
            let full = keys.sorted(by: Predictor.less)
            XCTAssertEqual(partial[..<limit].map(\.group), full[..<limit].map(\.group), "round \(round)")
            XCTAssertEqual(Set(partial.map(\.group)), Set(keys.map(\.group)), "a permutation, round \(round)")
            guard limit > 0 && limit < n else { continue }
            let last = full[limit - 1]
            let tie = full[limit...].prefix { $0.primary == last.primary && $0.json == last.json }
            XCTAssertEqual(
                Set(partial[limit..<(limit + tie.count)].map(\.group)), Set(tie.map(\.group)),
                "the tie run follows key limit − 1, round \(round)")
        }
    }
}
