import ProtoWire
import XCTest

final class VarintTests: XCTestCase {
    func testEncodesAndDecodesTheEdgesOfEachLength() {
        for shift in 0..<64 {
            for v: UInt64 in [1 << UInt64(shift), (1 << UInt64(shift)) &- 1, UInt64.max >> UInt64(shift)] {
                var bytes: [UInt8] = []
                Varint.encode(v, into: &bytes)
                XCTAssertEqual(bytes.count, Varint.encodedLength(v), "\(v)")
                var i = 0
                XCTAssertEqual(Varint.decode(bytes, at: &i), v)
                XCTAssertEqual(i, bytes.count)
            }
        }
        XCTAssertEqual(Varint.encodedLength(0), 1)
        XCTAssertEqual(Varint.encodedLength(UInt64.max), Varint.maxLength)
    }

    func testDecodesFromRawBuffersAndSlicesWithoutCopying() {
        let bytes: [UInt8] = [0x00, 0xAC, 0x02, 0x00]
        var i = 1
        XCTAssertEqual(Varint.decode(bytes[1...], at: &i), 300)
        XCTAssertEqual(i, 3)
        bytes.withUnsafeBytes { raw in
            var j = 1
            XCTAssertEqual(Varint.decode(raw, at: &j), 300)
        }
    }

    func testTruncatedAndOverlongInputIsNil() {
        var i = 0
        XCTAssertNil(Varint.decode([0x80, 0x80], at: &i))
        var j = 0
        XCTAssertNil(Varint.decode([UInt8](repeating: 0x80, count: 11), at: &j))
        XCTAssertEqual(j, 10)
    }
}
