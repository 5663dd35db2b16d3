import ProtoWire
import XCTest

final class ZigZagTests: XCTestCase {
    func testMapsSmallMagnitudesToSmallNumbers() {
        XCTAssertEqual([0, -1, 1, -2, 2].map(ZigZag.encode), [0, 1, 2, 3, 4])
        XCTAssertEqual(ZigZag.encode(Int64.min), UInt64.max)
    }

    func testDecodeInvertsEncode() {
        for v: Int64 in [0, 1, -1, 12345, -98765, .max, .min] {
            XCTAssertEqual(ZigZag.decode(ZigZag.encode(v)), v)
        }
    }
}
