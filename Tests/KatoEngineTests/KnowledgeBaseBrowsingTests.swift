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
        XCTAssertEqual(names(kb.patterns(order: .frequencyDescending, offset: 0, limit: 10)),
                       [[["a", "b"], ["c"]], [["a"], ["d"], ["e"]], [["x"], ["y"]]])
        XCTAssertEqual(names(kb.patterns(order: .learned, offset: 0, limit: 10)),
                       [[["a", "b"], ["c"]], [["a"], ["d"], ["e"]], [["x"], ["y"]]])
        XCTAssertEqual(kb.patterns(order: .lengthDescending, offset: 0, limit: 10).patterns.map(\.length), [3, 3, 2])
        let byName = kb.patterns(order: .name, offset: 0, limit: 10).patterns.map(\.name)
        XCTAssertEqual(byName, byName.sorted())
    }

    func testPagesCoverEveryPatternOnceAndCountTheTotal() {
        let kb = knowledgeBase()
        let first = kb.patterns(order: .name, offset: 0, limit: 2), second = kb.patterns(order: .name, offset: 2, limit: 2)
        XCTAssertEqual(first.total, 3)
        XCTAssertEqual(first.patterns.count, 2)
        XCTAssertEqual(second.patterns.count, 1)
        XCTAssertEqual(Set((first.patterns + second.patterns).map(\.name)).count, 3)
        XCTAssertEqual(kb.patterns(order: .name, offset: 99, limit: 2).patterns, [])
    }

    func testFiltersBySymbolAndNamePrefix() {
        let kb = knowledgeBase()
        XCTAssertEqual(kb.patterns(order: .learned, symbol: "a", offset: 0, limit: 10).total, 2)
        XCTAssertEqual(kb.patterns(order: .learned, symbol: "nope", offset: 0, limit: 10).total, 0)
        let one = kb.patterns(order: .learned, offset: 2, limit: 1).patterns[0]
        let found = kb.patterns(order: .learned, namePrefix: "PTRN|" + one.name.prefix(8), offset: 0, limit: 10)
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

    func testAnEmptyKnowledgeBase() {
        let kb = KnowledgeBase()
        XCTAssertEqual(kb.patterns(order: .frequencyDescending, offset: 0, limit: 10), .init(patterns: [], total: 0))
        XCTAssertEqual(kb.statistics().patternCount, 0)
    }
}
