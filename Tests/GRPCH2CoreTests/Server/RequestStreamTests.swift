import Synchronization
import XCTest

@testable import GRPCH2Core

/// A request stream yields the client's messages in order, decoded, returns each one's credit as
/// it is read, ends at the half-close, and does not mistake a cancelled call for a half-close.
final class RequestStreamTests: XCTestCase {
    func testACompletedStreamYieldsItsMessagesInOrderThenEnds() async throws {
        var seen: [[UInt8]] = []
        for try await message in RequestStream<[UInt8]>.completed([[1], [2, 2], []]) { seen.append(message) }
        XCTAssertEqual(seen, [[1], [2, 2], []])
    }

    func testMapDecodesEachMessageAndADecodingErrorEndsTheStream() async throws {
        struct Bad: Error {}
        let stream = RequestStream<[UInt8]>.completed([[1], [2], [0xFF], [3]]).map { bytes -> Int in
            if bytes == [0xFF] { throw Bad() }
            return Int(bytes[0]) * 10
        }
        var iterator = stream.makeAsyncIterator()
        let first = try await iterator.next()
        let second = try await iterator.next()
        XCTAssertEqual([first, second], [10, 20])
        do {
            _ = try await iterator.next()
            XCTFail("the third message does not decode")
        } catch {
            XCTAssertTrue(error is Bad)
        }
    }

    func testALiveStreamReturnsEachMessagesCreditAsItIsRead() async throws {
        let consumed = Mutex<[Int]>([])
        let (base, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let stream = RequestStream<[UInt8]>(base: base, decode: { $0 }, onConsumed: { n in consumed.withLock { $0.append(n) } })
        continuation.yield([1, 2, 3])
        continuation.yield([4])
        var iterator = stream.makeAsyncIterator()
        _ = try await iterator.next()
        XCTAssertEqual(consumed.withLock { $0 }, [3], "credit for the message read, not for the one still queued")
        _ = try await iterator.next()
        continuation.finish()
        let end = try await iterator.next()
        XCTAssertNil(end, "the half-close ends the stream")
        XCTAssertEqual(consumed.withLock { $0 }, [3, 1])
    }

    func testALiveStreamsErrorReachesTheReader() async {
        let (base, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let stream = RequestStream<[UInt8]>(base: base, decode: { $0 }, onConsumed: { _ in })
        continuation.finish(throwing: RPCError(code: .cancelled, message: "reset"))
        var iterator = stream.makeAsyncIterator()
        do {
            _ = try await iterator.next()
            XCTFail("the stream's error must reach the handler")
        } catch {
            XCTAssertEqual((error as? RPCError)?.code, .cancelled)
        }
    }

    func testACancelledReaderGetsCancellationNotTheEndOfTheStream() async {
        let (base, _) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let stream = RequestStream<[UInt8]>(base: base, decode: { $0 }, onConsumed: { _ in })
        let reader = Task { () -> String in
            do {
                for try await _ in stream {}
                return "ended as if half-closed"
            } catch is CancellationError {
                return "cancelled"
            } catch {
                return "\(error)"
            }
        }
        reader.cancel()
        let outcome = await reader.value
        XCTAssertEqual(outcome, "cancelled")
    }

    func testResponseWriterMapEncodesBeforeTheSinkSeesTheMessage() async throws {
        let sink = BufferingSink()
        let writer = ResponseWriter<[UInt8]>(sink: sink, encode: { $0 + [0] }).map { (s: String) in Array(s.utf8) }
        try await writer.write("ab")
        try await writer.write("")
        XCTAssertEqual(sink.drain(), [[0x61, 0x62, 0], [0]])
        XCTAssertEqual(sink.drain(), [], "drained once")
    }
}
