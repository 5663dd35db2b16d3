import XCTest

@testable import KatoEngine

final class KnowledgeBaseBrowsingTests: XCTestCase {
    /// Three patterns: [a b][c] learned 3 times, [a][d][e] twice, [x][y] once.
    private func knowledgeBase() -> KnowledgeBase {
        let kb = KnowledgeBase()
        for (events, times) in [([["a", "b"], ["c"]], 3), ([["a"], ["d"], ["e"]], 2), ([["x"], ["y"]], 1)] {
            for _ in 0..<times { kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5) }
        }
        return kb
    }

    private func names(_ page: KnowledgeBase.PatternPage) -> [[[String]]] { page.patterns.map(\.events) }

    func testPatternsInEachOrder() {
        let kb = knowledgeBase()
        XCTAssertEqual(names(kb.patterns(order: .frequencyDescending, limit: 10)),
                       [[["a", "b"], ["c"]], [["a"], ["d"], ["e"]], [["x"], ["y"]]])
        XCTAssertEqual(names(kb.patterns(order: .learned, limit: 10)),
                       [[["a", "b"], ["c"]], [["a"], ["d"], ["e"]], [["x"], ["y"]]])
        XCTAssertEqual(kb.patterns(order: .lengthDescending, limit: 10).patterns.map(\.length), [3, 3, 2])
        let byName = kb.patterns(order: .name, limit: 10).patterns.map(\.name)
        XCTAssertEqual(byName, byName.sorted())
    }

    func testKeysetPagesCoverEveryPatternOnceAndCountTheTotal() {
        let kb = knowledgeBase()
        for order in [KnowledgeBase.PatternOrder.frequencyDescending, .name, .lengthDescending, .learned] {
            let all = kb.patterns(order: order, limit: 10)
            XCTAssertNil(all.next)
            let first = kb.patterns(order: order, limit: 2)
            XCTAssertEqual(first.total, 3)
            let second = kb.patterns(order: order, after: first.next, limit: 2)
            XCTAssertEqual(first.patterns + second.patterns, all.patterns, "\(order)")
            XCTAssertNil(second.next)
        }
    }

    func testAKeysetPageStaysValidWhilePatternsAreLearned() {
        let kb = knowledgeBase()
        let first = kb.patterns(order: .learned, limit: 2)
        kb.learn(events: [["new"], ["one"]], emotives: [:], metadata: [:], persistence: 5)
        let rest = kb.patterns(order: .learned, after: first.next, limit: 10)
        XCTAssertEqual(rest.patterns.map(\.events), [[["x"], ["y"]], [["new"], ["one"]]])
    }

    func testManyRandomPatternsPageLikeOneSortedList() {
        let kb = KnowledgeBase()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<300 {
            let times = Int.random(in: 1...4, using: &rng)
            // Lengths 2 to 4, frequencies 1 to 4: ties in both, broken by name.
            let events = [["s\(i % 17)"], ["t\(i)"]] + Array(repeating: ["u"], count: i % 3)
            for _ in 0..<times { kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5) }
        }
        let learned = kb.patterns(order: .learned, limit: 1000).patterns
        XCTAssertEqual(learned.map { Naming.bareHash($0.name) }, (0..<300).map { i in
            Naming.patternHash([["s\(i % 17)"], ["t\(i)"]] + Array(repeating: ["u"], count: i % 3)) })
        let byName = learned.sorted { $0.name < $1.name }
        let expected: [KnowledgeBase.PatternOrder: [Pattern]] = [
            .learned: learned, .name: byName,
            .frequencyDescending: byName.sorted { $0.frequency != $1.frequency ? $0.frequency > $1.frequency : $0.name < $1.name },
            .lengthDescending: byName.sorted { $0.length != $1.length ? $0.length > $1.length : $0.name < $1.name },
        ]
        for order in [KnowledgeBase.PatternOrder.frequencyDescending, .name, .lengthDescending, .learned] {
            let all = kb.patterns(order: order, limit: 1000).patterns
            XCTAssertEqual(all.map(\.name), expected[order]?.map(\.name), "one page, \(order)")
            var paged: [Pattern] = []
            var after: KnowledgeBase.PageKey?
            repeat {
                let page = kb.patterns(order: order, after: after, limit: 7)
                paged += page.patterns
                after = page.next
            } while after != nil
            XCTAssertEqual(paged, all, "\(order)")
            XCTAssertEqual(all.count, 300)
        }
    }

    func testFiltersBySymbolAndNamePrefix() {
        let kb = knowledgeBase()
        XCTAssertEqual(kb.patterns(order: .learned, symbol: "a", limit: 10).total, 2)
        XCTAssertEqual(kb.patterns(order: .learned, symbol: "nope", limit: 10).total, 0)
        let one = kb.patterns(order: .learned, limit: 3).patterns[2]
        let found = kb.patterns(order: .learned, namePrefix: "PTRN|" + one.name.prefix(8), limit: 10)
        XCTAssertEqual(found.patterns.map(\.name), [one.name])
    }

    func testStatistics() {
        let stats = knowledgeBase().statistics(topSymbols: 2)
        XCTAssertEqual(stats.patternCount, 3)
        XCTAssertEqual(stats.totalFrequency, 6)
        XCTAssertEqual(stats.symbolCount, 7)
        XCTAssertEqual(stats.lengthDistribution, [2: 1, 3: 2])
        XCTAssertEqual(stats.topSymbols.map(\.symbol), ["a", "b"])  // a: 5 occurrences, then b and c with 3 (by name)
        XCTAssertEqual(stats.topSymbols[0].stats.frequency, 5)
    }

    func testDeletedPatternsAreNeitherListedNorCounted() {
        let kb = knowledgeBase()
        let top = kb.patterns(order: .frequencyDescending, limit: 1).patterns[0]
        XCTAssertTrue(kb.delete(named: top.name))
        let page = kb.patterns(order: .learned, limit: 10)
        XCTAssertEqual(page.total, 2)
        XCTAssertFalse(page.patterns.contains { $0.name == top.name })
        XCTAssertEqual(kb.patterns(order: .learned, symbol: "b", limit: 10).total, 0)
        let stats = kb.statistics()
        XCTAssertEqual(stats.patternCount, 2)
        XCTAssertEqual(stats.totalFrequency, 3)
        XCTAssertFalse(stats.topSymbols.contains { $0.symbol == "b" || $0.symbol == "c" })
    }

    func testAnEmptyKnowledgeBase() {
        let kb = KnowledgeBase()
        XCTAssertEqual(kb.patterns(order: .frequencyDescending, limit: 10), .init(patterns: [], total: 0))
        XCTAssertEqual(kb.statistics().patternCount, 0)
    }
}
