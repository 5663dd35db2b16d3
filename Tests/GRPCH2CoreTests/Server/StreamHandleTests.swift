import XCTest

@testable import GRPCH2Core

/// A stream handle names its call by stream id in everything it hands its owner; a live sink
/// writes through it, and a call that has ended refuses further writes.
final class StreamHandleTests: XCTestCase {
    func testEveryCallReachesTheOwnerWithTheHandlesStreamID() async throws {
        let owner = RecordingStreamOwner()
        let handle = StreamHandle(owner: owner, streamID: 11)
        try await LiveSink(handle: handle).write([1, 2])
        handle.consumed()
        handle.complete(framedMessage: [0, 0, 0, 0, 0, 9])
        handle.complete(messages: [[3]], error: RPCError(code: .aborted, message: "x"), context: CoreTestSupport.context("/a/b"))
        let record = owner.snapshot
        XCTAssertEqual(record.written.map(\.0), [11])
        XCTAssertEqual(record.written.map(\.1), [[1, 2]])
        XCTAssertEqual(record.consumed, [11])
        XCTAssertEqual(record.framed.map(\.0), [11])
        XCTAssertEqual(record.framed.map(\.1), [[0, 0, 0, 0, 0, 9]])
        XCTAssertEqual(record.completions.map(\.streamID), [11])
        XCTAssertEqual(record.completions.first?.messages, [[3]])
        XCTAssertEqual(record.completions.first?.error?.code, .aborted)
    }

    func testAWriteToAnEndedCallThrowsToTheHandler() async {
        let owner = RecordingStreamOwner()
        owner.writeError.withLock { $0 = RPCError(code: .cancelled, message: "the call has ended") }
        do {
            try await LiveSink(handle: StreamHandle(owner: owner, streamID: 1)).write([1])
            XCTFail("a write after the end must throw")
        } catch {
            XCTAssertEqual((error as? RPCError)?.code, .cancelled)
        }
        XCTAssertTrue(owner.snapshot.written.isEmpty)
    }
}
