import XCTest
@testable import KatoEngine
import KatoSupport

/// `ChunkedArray` behaves as an array with value semantics: a copy never sees the original's
/// later writes (nor the reverse), across chunk boundaries, for appends and element writes.
final class ChunkedArrayTests: XCTestCase {
    func testItHoldsWhatWasAppendedInOrderAcrossChunks() {
        var a = ChunkedArray<Int>()
        for i in 0..<1000 { a.append(i) }
        XCTAssertEqual(a.count, 1000)
        XCTAssertEqual(Array(a), Array(0..<1000))
        XCTAssertEqual(a[255], 255)
        XCTAssertEqual(a[256], 256)
        XCTAssertEqual(Array(ChunkedArray(repeating: 7, count: 300)), [Int](repeating: 7, count: 300))
    }

    func testACopyKeepsItsElementsWhenTheOriginalIsWrittenAndGrows() {
        var original = ChunkedArray<[Int]>()
        for i in 0..<600 { original.append([i]) }
        let view = original
        original[10].append(-1)
        original[599] = []
        for i in 600..<700 { original.append([i]) }
        XCTAssertEqual(view.count, 600)
        XCTAssertEqual(view[10], [10])
        XCTAssertEqual(view[599], [599])
        XCTAssertEqual(original[10], [10, -1])
        XCTAssertEqual(original[599], [])
        XCTAssertEqual(original[699], [699])
        var copy = view
        copy[0] = [42]
        XCTAssertEqual(view[0], [0])
        XCTAssertEqual(original[0], [0])
    }

    /// The run readers visit exactly the elements at the given ids, in the given order, whether the
    /// ids are ascending (runs within a chunk) or not; the in-place form hands over the same objects.
    func testRunReadersVisitTheElementsAtTheIdsInOrder() {
        final class Box { let value: Int; init(_ value: Int) { self.value = value } }
        var values = ChunkedArray<Int>()
        var boxes = ChunkedArray<Box>()
        for i in 0..<1300 {
            values.append(i * 3)
            boxes.append(Box(i * 3))
        }
        var rng = SplitMix64(state: 8)
        for round in 0..<20 {
            var ids = (0..<rng.int(0...600)).map { _ in Int32(rng.int(0...1299)) }
            if round % 2 == 0 { ids.sort() }
            var seen: [Int] = [], seenIds: [Int32] = [], seenBoxes: [Int] = []
            values.forEachRun(of: ids[...]) { id, v in seenIds.append(id); seen.append(v) }
            ids.withUnsafeBufferPointer { idBuffer in
                boxes.forEachRunInPlace(of: idBuffer) { x, chunk in
                    seenBoxes.append(chunk[Int(idBuffer[x]) & ChunkedArray<Box>.mask].value)
                }
            }
            values.prefetch(ids)  // a hint: changes nothing
            XCTAssertEqual(seenIds, ids)
            XCTAssertEqual(seen, ids.map { Int($0) * 3 })
            XCTAssertEqual(seenBoxes, ids.map { Int($0) * 3 })
        }
    }

    /// A prefetch is a hint: any index, in range or not (it reads the list of chunks unchecked, so an
    /// index past the list must be refused, not read), of an empty or a full array, changes nothing
    /// and never traps.
    func testPrefetchChangesNothingForAnyIndex() {
        final class Item { let n: Int; init(_ n: Int) { self.n = n } }
        let empty = ChunkedArray<Item>()
        for i in [-1, 0, 1, 300] { empty.prefetch(i) }
        var items = ChunkedArray<Item>()
        for i in 0..<700 { items.append(Item(i)) }
        for i in [-300, -1, 0, 255, 256, 650, 699, 700, 1000, 1 << 40] { items.prefetch(i) }
        XCTAssertEqual(items.count, 700)
        XCTAssertEqual((0..<700).map { items[$0].n }, Array(0..<700))
    }
}
