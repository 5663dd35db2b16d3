import Foundation
import XCTest

@testable import GRPCH2Core

final class MessageDeframerTests: XCTestCase {
    func testDeframerReassemblesMessagesSplitAtEveryByte() throws {
        var wire = [UInt8]()
        MessageFramer.frame([1, 2, 3], compressed: false, into: &wire)
        MessageFramer.frame([], compressed: false, into: &wire)
        MessageFramer.frame(Array(repeating: 9, count: 300), compressed: true, into: &wire)
        var deframer = MessageDeframer(maxMessageSize: 1000)
        var got: [MessageDeframer.Message] = []
        for b in wire {
            deframer.append([b])
            while let m = try deframer.next() { got.append(m) }
        }
        XCTAssertEqual(got.map(\.bytes), [[1, 2, 3], [], Array(repeating: 9, count: 300)])
        XCTAssertEqual(got.map(\.compressed), [false, false, true])
        XCTAssertEqual(deframer.bufferedByteCount, 0)
    }

    func testDeframerHandsOverWholeChunksAndLeavesTheSendersArrayIntact() throws {
        var one = [UInt8](), two = [UInt8]()
        MessageFramer.frame([7, 8, 9], compressed: false, into: &one)
        MessageFramer.frame([1], compressed: false, into: &two)
        MessageFramer.frame([2, 3], compressed: true, into: &two)
        let kept = one
        var deframer = MessageDeframer(maxMessageSize: 100)
        deframer.append(one)
        XCTAssertEqual(try deframer.next(), .init(compressed: false, bytes: [7, 8, 9]))
        XCTAssertNil(try deframer.next())
        XCTAssertEqual(kept, [0, 0, 0, 0, 3, 7, 8, 9])  // the in-place prefix drop did not write through
        deframer.append(two)
        XCTAssertEqual(try deframer.next(), .init(compressed: false, bytes: [1]))
        XCTAssertEqual(try deframer.next(), .init(compressed: true, bytes: [2, 3]))
        XCTAssertNil(try deframer.next())
        XCTAssertEqual(deframer.bufferedByteCount, 0)
    }

    func testDeframerRejectsOversizeMessagesAtThePrefix() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append([0, 0, 0, 0, 11])
        XCTAssertThrowsError(try deframer.next()) { error in
            XCTAssertEqual(error as? MessageDeframer.Failure, .messageTooLarge(length: 11, limit: 10))
        }
    }
}
