import ProtoWire
import XCTest

final class WireReaderTests: XCTestCase {
    func testReadsEveryWireType() throws {
        // 1: varint 300, 2: fixed64 1, 3: "hi", 4: fixed32 7, 5: group { 1: varint 1 }
        let bytes: [UInt8] = [0x08, 0xAC, 0x02, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1A, 2, 0x68, 0x69, 0x25, 7, 0, 0, 0, 0x2B, 0x08, 0x01, 0x2C]
        var r = WireReader(bytes)
        var fields: [(Int, WireValue)] = []
        while let f = try r.next() { fields.append(f) }
        XCTAssertEqual(fields.map(\.0), [1, 2, 3, 4, 5])
        XCTAssertEqual(fields.map(\.1), [.varint(300), .fixed64(1), .bytes([0x68, 0x69][...]), .fixed32(7), .group([0x08, 0x01][...])])
        XCTAssertTrue(r.isAtEnd)
    }

    func testReadsTenByteVarintsAndRejectsLongerOnes() throws {
        var ok = WireReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        XCTAssertEqual(try ok.varint(), UInt64.max)
        var long = WireReader([UInt8](repeating: 0xFF, count: 10) + [0x01])
        XCTAssertThrowsError(try long.varint())
    }

    func testMalformedInputIsAnErrorNotACrash() {
        let bad: [[UInt8]] = [
            [0x08],  // varint missing
            [0x08, 0x80],  // truncated varint
            [0x1A, 0x05, 0x01],  // length beyond the end
            [0x11, 0x01],  // truncated fixed64
            [0x00, 0x01],  // field number 0
            [0x0E],  // wire type 6
            [0x0C],  // end group without start
            [0x0B, 0x08, 0x01],  // unterminated group
        ]
        for b in bad {
            var r = WireReader(b)
            XCTAssertThrowsError(try { while try r.next() != nil {} }(), "accepted \(b)")
        }
    }

    func testReadsInsideASliceWithoutRebasing() throws {
        let whole: [UInt8] = [0xFF, 0x08, 0x05, 0xFF]
        var r = WireReader(whole[1..<3])
        let f = try r.next()
        XCTAssertEqual(f?.field, 1)
        XCTAssertEqual(f?.value, .varint(5))
        XCTAssertNil(try r.next())
    }
}
