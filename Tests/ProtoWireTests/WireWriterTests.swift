import ProtoWire
import XCTest

final class WireWriterTests: XCTestCase {
    func testWritesWhatTheReaderReads() throws {
        var w = WireWriter()
        w.tag(1, .varint)
        w.varint(UInt64.max)
        w.tag(2, .fixed32)
        w.fixed32(0xDEADBEEF)
        w.tag(3, .fixed64)
        w.fixed64(0x0102030405060708)
        w.tag(536_870_911, .lengthDelimited)
        w.lengthDelimited([1, 2, 3])
        var r = WireReader(w.bytes)
        XCTAssertEqual(try r.next()?.value, .varint(UInt64.max))
        XCTAssertEqual(try r.next()?.value, .fixed32(0xDEADBEEF))
        XCTAssertEqual(try r.next()?.value, .fixed64(0x0102030405060708))
        let last = try r.next()
        XCTAssertEqual(last?.field, 536_870_911)
        XCTAssertEqual(last?.value, .bytes([1, 2, 3][...]))
    }

    func testVarintBytesMatchTheProtobufSpec() {
        var w = WireWriter()
        w.varint(300)
        XCTAssertEqual(w.bytes, [0xAC, 0x02])
        var f = WireWriter()
        f.fixed32(1)
        XCTAssertEqual(f.bytes, [1, 0, 0, 0])
    }
}
