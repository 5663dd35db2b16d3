import XCTest
@testable import KatoEngine
import KatoSupport

/// `KnowledgeState.summaries` must describe `shapes` at every id, whatever wrote them — learn,
/// delete (tombstones), `KnowledgeBase(snapshot:)` and the durable store's loader (with deleted
/// places) — because the scoring reads a pattern's fields and packed buffer only through its summary.
/// And a summary's view of the packed buffer must be the shape's own (same addresses), for ASCII and
/// non-ASCII texts, one or many events.
final class PatternSummaryTests: XCTestCase {
    func assertSummariesDescribeShapes(_ kb: KnowledgeBase, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let state = kb.view()
        XCTAssertEqual(state.summaries.count, state.shapes.count, context, file: file, line: line)
        XCTAssertTrue(state.summariesMatchShapes, context, file: file, line: line)
        for id in state.shapes.indices {
            let shape = state.shapes[id], view = state.summaries[id].packedView, own = shape.packedView
            guard view.ids == own.ids, view.ends == own.ends, view.hashes == own.hashes,
                  view.text.baseAddress == own.text.baseAddress, view.text.count == own.text.count
            else { return XCTFail("\(context): pattern \(id)'s summary reads another buffer layout", file: file, line: line) }
        }
    }

    func randomKnowledgeBase(_ rng: inout SplitMix64, patterns: Int) -> KnowledgeBase {
        let kb = KnowledgeBase()
        for _ in 0..<patterns {
            let events = (0..<(1 + rng.int(0...4))).map { _ in
                (0..<(1 + rng.int(0...3))).map { _ in KnowledgeBaseLoaderTests.symbol(rng.int(0...80)) }
            }
            guard events.joined().count >= 2 else { continue }
            kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
        }
        return kb
    }

    func testSummariesFollowLearnDeleteSnapshotAndLoader() {
        var rng = SplitMix64(state: 7)
        let kb = randomKnowledgeBase(&rng, patterns: 700)  // several 256-pattern chunks
        assertSummariesDescribeShapes(kb, "learned")
        var snapshot = kb.snapshot()
        XCTAssertGreaterThan(snapshot.patterns.count, 600)
        for p in snapshot.patterns.enumerated().filter({ $0.offset % 9 == 4 }) { XCTAssertTrue(kb.delete(named: p.element.name)) }
        assertSummariesDescribeShapes(kb, "after deletes")
        // Learning after deletes appends after the tombstones.
        kb.learn(events: [["s0"], ["x4", "ü名2"]], emotives: [:], metadata: [:], persistence: 5)
        assertSummariesDescribeShapes(kb, "learn after deletes")
        snapshot = kb.snapshot()
        assertSummariesDescribeShapes(KnowledgeBase(snapshot: snapshot), "from a snapshot")
        for bytes in [false, true] {
            assertSummariesDescribeShapes(
                KnowledgeBase(loaded: KnowledgeBaseLoaderTests.load(snapshot, announce: true, bytes: bytes)), "loaded, bytes \(bytes)")
        }
        // The loader's deleted places become tombstones in `finish()`.
        var loader = KnowledgeBaseLoader(expectedPatterns: 0, worker: nil)
        for (i, p) in snapshot.patterns.prefix(300).enumerated() {
            if i % 5 == 2 { loader.appendDeleted() }
            loader.append(name: p.name, events: p.events, frequency: p.frequency, emotives: p.emotives, metadata: p.metadata)
        }
        let loaded = KnowledgeBase(loaded: loader)
        XCTAssertGreaterThan(loaded.view().deletedCount, 50)
        assertSummariesDescribeShapes(loaded, "loaded with deleted places")
    }
}
