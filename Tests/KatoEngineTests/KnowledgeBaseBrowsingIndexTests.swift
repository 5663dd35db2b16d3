import XCTest

@testable import KatoEngine
import KatoSupport

/// The maintained browsing orders and statistics (`KnowledgeState+Browsing`) against the full
/// pass they replace (`scanPatterns`, `scanStatistics`) on random knowledge bases: learns with
/// ties in frequency, length and symbol frequency, re-learns, deletions, clears and restores,
/// page keys old and new, name prefixes — every page and every statistic must be identical.
final class KnowledgeBaseBrowsingIndexTests: XCTestCase {
    /// The same knowledge bases on every run.
    private typealias Generator = SplitMix64

    private let orders: [KnowledgeBase.PatternOrder] = [.frequencyDescending, .name, .lengthDescending, .learned]

    private func randomEvents(_ rng: inout Generator) -> [[String]] {
        let events = Int.random(in: 2...4, using: &rng)
        return (0..<events).map { _ in
            (0..<Int.random(in: 1...2, using: &rng)).map { _ in "s\(Int.random(in: 0..<12, using: &rng))" }
        }
    }

    /// Every page the index serves equals the scan's, for each order, key, prefix and size.
    private func assertSamePages(_ kb: KnowledgeBase, keys: [KnowledgeBase.PageKey], _ rng: inout Generator,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let prefixes = ["", String(format: "%x", Int.random(in: 0..<16, using: &rng)),
                        String(format: "%02x", Int.random(in: 0..<256, using: &rng)), "PTRN|0", "zz"]
        for order in orders {
            for prefix in prefixes {
                for limit in [0, 1, 3, 50] {
                    let afters: [KnowledgeBase.PageKey?] = [nil] + keys.suffix(3).map { $0 }
                    for after in afters {
                        let indexed = kb.patterns(order: order, namePrefix: prefix, after: after, limit: limit)
                        let scanned = kb.scanPatterns(order: order, namePrefix: prefix, after: after, limit: limit)
                        XCTAssertEqual(indexed, scanned, "\(order) prefix '\(prefix)' limit \(limit) after \(String(describing: after))",
                                       file: file, line: line)
                    }
                }
            }
            // Walking every page gives every live pattern once.
            var seen = 0
            var after: KnowledgeBase.PageKey?
            repeat {
                let page = kb.patterns(order: order, after: after, limit: 7)
                XCTAssertEqual(page, kb.scanPatterns(order: order, after: after, limit: 7), "\(order) walk", file: file, line: line)
                seen += page.patterns.count
                after = page.next
            } while after != nil
            XCTAssertEqual(seen, kb.patternCount, "\(order) walk", file: file, line: line)
        }
        for top in [0, 1, 5, 20, 64, 65] {
            XCTAssertEqual(kb.statistics(topSymbols: top), kb.scanStatistics(topSymbols: top), "statistics top \(top)",
                           file: file, line: line)
        }
    }

    func testMaintainedOrdersAndStatisticsEqualTheFullScanOnRandomKnowledgeBases() {
        for seed in 1...6 as ClosedRange<UInt64> {
            var rng = Generator(state: seed)
            let kb = KnowledgeBase()
            var keys: [KnowledgeBase.PageKey] = []
            var learned: [[[String]]] = []
            if seed % 2 == 0 { _ = kb.statistics() }  // indexes built before the learns (then maintained) or after
            for step in 0..<400 {
                let roll = Int.random(in: 0..<100, using: &rng)
                if roll < 60 || learned.isEmpty {
                    let events = roll < 30 && !learned.isEmpty ? learned.randomElement(using: &rng)! : randomEvents(&rng)
                    learned.append(events)
                    kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
                } else if roll < 85 {
                    kb.delete(named: Naming.patternHash(learned.randomElement(using: &rng)!))
                } else if roll < 87 {
                    kb.clear()
                    learned = []
                } else if roll < 89 {
                    kb.restore(kb.snapshot())  // drops the indexes: rebuilt on the next page
                } else {
                    // Keys of real pages, kept while the knowledge base changes under them.
                    let order = orders.randomElement(using: &rng)!
                    if let next = kb.patterns(order: order, after: keys.last, limit: 5).next { keys.append(next) }
                }
                if step % 50 == 49 { assertSamePages(kb, keys: keys, &rng) }
            }
            assertSamePages(kb, keys: keys, &rng)
        }
    }

    /// Names whose first 8 bytes tie, names with NUL bytes, and names that are not ASCII (where
    /// byte order and `String` order differ): ties fall back to comparing names as `String`s.
    /// The first build runs outside the lock (`browsableState`): one made while learns and
    /// deletions land must not be installed stale. Browses race a writer; afterwards every page
    /// and the statistics still equal the full scan.
    func testOrdersBuiltWhileWritersRunAreNeverInstalledStale() {
        for round in 0..<20 {
            let kb = KnowledgeBase()
            var rng = Generator(state: UInt64(round))
            for _ in 0..<300 {
                kb.learn(events: randomEvents(&rng), emotives: [:], metadata: [:], persistence: 5)
            }
            let writes = (0..<400).map { _ in randomEvents(&rng) }
            let writer = Thread {
                for (i, events) in writes.enumerated() {
                    let outcome = kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
                    if i % 7 == 0 { _ = kb.deletePattern(named: outcome.name) }
                }
            }
            writer.start()
            for _ in 0..<3 {
                _ = kb.patterns(order: .frequencyDescending, limit: 5)
                _ = kb.statistics()
            }
            while !writer.isFinished { usleep(1000) }
            assertSamePages(kb, keys: [], &rng)
            XCTAssertEqual(kb.statistics(), kb.scanStatistics(topSymbols: 20), "round \(round)")
        }
    }

    func testNamesTheShortcutCannotOrder() {
        let names = ["00000000aa", "00000000a", "00000000ab", "0000", "0000\u{0}1", "ae\u{301}x", "afz", "a\u{e9}",
                     "ab", "PTRNlike", "e\u{301}", "\u{e9}"]
        let snapshot = KnowledgeBaseSnapshot(patterns: names.enumerated().map { i, name in
            Pattern(name: name, events: [["x\(i % 3)"], ["y"]], length: 2, frequency: 1 + i % 2, emotives: nil, metadata: [:])
        })
        let kb = KnowledgeBase(snapshot: snapshot)
        var rng = Generator(state: 99)
        let key = kb.patterns(order: .name, limit: 4).next!
        assertSamePages(kb, keys: [key], &rng)
        kb.learn(events: [["x0"], ["y"]], emotives: [:], metadata: [:], persistence: 5)
        kb.delete(named: "afz")
        assertSamePages(kb, keys: [key], &rng)
    }

    func testAClearKeepsTheIndexesAndEmptiesThem() {
        let kb = KnowledgeBase()
        kb.learn(events: [["a"], ["b"]], emotives: [:], metadata: [:], persistence: 5)
        XCTAssertEqual(kb.statistics().patternCount, 1)
        kb.clear()
        XCTAssertNotNil(kb.view().browsing, "a clear keeps maintaining")
        XCTAssertEqual(kb.statistics(), kb.scanStatistics())
        kb.learn(events: [["c"], ["d"]], emotives: [:], metadata: [:], persistence: 5)
        XCTAssertEqual(kb.patterns(order: .name, limit: 5).patterns.map(\.events), [[["c"], ["d"]]])
        XCTAssertEqual(kb.statistics().symbolCount, 2)
    }
}
