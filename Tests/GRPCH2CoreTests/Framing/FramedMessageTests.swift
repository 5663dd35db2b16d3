import XCTest

@testable import GRPCH2Core

final class FramedMessageTests: XCTestCase {
    func testTheBytesAreTheUncompressedPrefixThenTheMessage() {
        let framed = FramedMessage([7, 8, 9])
        XCTAssertEqual(framed.bytes, [0, 0, 0, 0, 3, 7, 8, 9])
        XCTAssertEqual(Array(framed.message), [7, 8, 9])
        XCTAssertEqual(framed.messageCount, 3)
    }

    func testAnEmptyMessageIsAPrefixAlone() {
        XCTAssertEqual(FramedMessage([]).bytes, [0, 0, 0, 0, 0])
        XCTAssertEqual(FramedMessage([]).messageCount, 0)
    }

    func testALongMessagesLengthIsBigEndian() {
        let framed = FramedMessage([UInt8](repeating: 1, count: 0x01_02_03))
        XCTAssertEqual(Array(framed.bytes.prefix(5)), [0, 0, 0x01, 0x02, 0x03])
    }

    func testTheDeframerReadsBackTheMessage() throws {
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        let framed = FramedMessage(Array("a fan-out's update".utf8))
        deframer.append(framed.bytes)
        XCTAssertEqual(try deframer.next(), MessageDeframer.Message(compressed: false, bytes: Array("a fan-out's update".utf8)))
        XCTAssertNil(try deframer.next())
    }
}
