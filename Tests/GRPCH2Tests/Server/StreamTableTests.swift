import XCTest

@testable import GRPCH2

final class StreamTableTests: XCTestCase {
    func testStreamTableAgreesWithADictionary() {
        final class Box { let id: Int32; init(_ id: Int32) { self.id = id } }
        var table = StreamTable<Box>(capacity: 4)
        var reference: [Int32: Box] = [:]
        var rng = SystemRandomNumberGenerator()
        var next: Int32 = 1
        for step in 0..<20_000 {
            // Mostly new odd ids (as clients open streams), closes in random order, a few bogus ids.
            let r = Int.random(in: 0..<10, using: &rng)
            if r < 4 || reference.isEmpty {
                let box = Box(next)
                table.set(box, for: next)
                reference[next] = box
                next += 2
            } else if r < 8, let victim = reference.keys.randomElement(using: &rng) {
                XCTAssertTrue(table.removeValue(for: victim) === reference.removeValue(forKey: victim))
            } else {
                let id = Int32.random(in: -3...(next + 4), using: &rng)
                XCTAssertTrue(table[id] === reference[id], "step \(step) id \(id)")
                XCTAssertTrue(table.removeValue(for: next + 2) == nil)
            }
            XCTAssertEqual(table.count, reference.count)
        }
        for (id, box) in reference { XCTAssertTrue(table[id] === box) }
        XCTAssertEqual(Set(table.removeAll().map(\.id)), Set(reference.keys))
        XCTAssertTrue(table.isEmpty)
    }
}
