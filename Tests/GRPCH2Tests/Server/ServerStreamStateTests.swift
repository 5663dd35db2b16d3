import GRPCH2Core
import XCTest

@testable import GRPCH2

/// A stream's object on the connection's loop: `clear()` puts every field back so a kept object
/// can serve the next stream, pending response bytes are taken in order (and compacted), and
/// the request headers a call reads are taken as they arrive.
final class ServerStreamStateTests: XCTestCase {
    struct Ended: Error {}

    func testClearPutsEveryFieldBackToItsInitialValue() {
        let stream = ServerStreamState(id: 5, maxMessageSize: 100)
        stream.machine.callStarted(kind: .unary, requestCompressed: true, compressResponses: true)
        stream.context = ServerContext(path: "/a/b", requestMetadata: Metadata(), deadline: nil, peer: "p")
        stream.call = stream.context?.call
        stream.inbound = AsyncThrowingStream<[UInt8], any Error>.makeStream().continuation
        stream.task = Task {}
        stream.pending = [1, 2, 3]
        stream.pendingOffset = 1
        stream.trailers = [HeaderField("grpc-status", "0")]
        stream.deframer.append([0, 0, 0])

        stream.clear()
        XCTAssertEqual(stream.id, 0)
        XCTAssertEqual(stream.machine, ServerStreamStateMachine(), "the machine is reset too")
        XCTAssertNil(stream.method)
        XCTAssertNil(stream.context)
        XCTAssertNil(stream.call)
        XCTAssertFalse(stream.hasInbound)
        XCTAssertNil(stream.inbound)
        XCTAssertNil(stream.task)
        XCTAssertNil(stream.deadlineTimer)
        XCTAssertNil(stream.web)
        XCTAssertEqual(stream.pending, [])
        XCTAssertEqual(stream.pendingOffset, 0)
        XCTAssertNil(stream.trailers)
        XCTAssertTrue(stream.waitingWriters.isEmpty)
        XCTAssertEqual(stream.deframer.maxMessageSize, 100, "the limit stays, the buffered bytes go")
        XCTAssertNil(try stream.deframer.next())

        stream.reuse(id: 7)
        XCTAssertEqual(stream.id, 7)
    }

    func testPendingBytesAreTakenInOrderUpToEachFramesLength() {
        let stream = ServerStreamState(id: 1, maxMessageSize: 100)
        stream.pending = Array(0..<10)
        XCTAssertEqual(Array(stream.takePending(maxLength: 4)), [0, 1, 2, 3])
        XCTAssertEqual(stream.pendingCount, 6)
        XCTAssertEqual(Array(stream.takePending(maxLength: 100)), [4, 5, 6, 7, 8, 9])
        XCTAssertEqual(stream.pendingCount, 0)
        XCTAssertEqual(stream.pending, [], "drained: the buffer is let go")
        XCTAssertEqual(Array(stream.takePending(maxLength: 4)), [])
    }

    func testALongStreamToASlowReaderDoesNotKeepWhatItSent() {
        let stream = ServerStreamState(id: 1, maxMessageSize: 100)
        let size = 400 * 1024
        stream.pending = [UInt8](repeating: 1, count: size)
        _ = stream.takePending(maxLength: 300 * 1024)
        XCTAssertEqual(stream.pendingOffset, 0, "over 256 KiB and half sent: compacted")
        XCTAssertEqual(stream.pending.count, 100 * 1024)
        XCTAssertEqual(stream.pendingCount, 100 * 1024)
    }

    func testFailWritersResumesEveryWaitingWriterWithTheError() async {
        let stream = ServerStreamState(id: 1, maxMessageSize: 100)
        var built = 0
        stream.failWriters({ built += 1; return Ended() }())
        XCTAssertEqual(built, 0, "no writer waits: the error is not even built")
        do {
            try await withCheckedThrowingContinuation { (writer: CheckedContinuation<Void, any Error>) in
                stream.waitingWriters.append(writer)
                stream.failWriters(Ended())
            }
            XCTFail("the waiting writer must be resumed with the error")
        } catch {
            XCTAssertTrue(error is Ended, "\(error)")
        }
        XCTAssertTrue(stream.waitingWriters.isEmpty)
    }

    func testRequestHeadersKeepWhatACallReadsAndTheRestAsMetadata() {
        var headers = RequestHeaders()
        var decoded: [String] = []
        func add(_ token: HeaderToken, _ name: String, _ value: String) {
            headers.add(token: token, name: { name }, value: { decoded.append(name); return value })
        }
        add(.path, ":path", "/a.B/C")
        add(.method, ":method", "POST")
        add(.contentType, "content-type", "application/grpc")
        add(.grpcEncoding, "grpc-encoding", "gzip")
        add(.grpcAcceptEncoding, "grpc-accept-encoding", "gzip,identity")
        add(.grpcTimeout, "grpc-timeout", "1S")
        add(.grpcTimeout, "grpc-timeout", "2S")
        add(.reserved, ":authority", "example")
        add(.other, "x-one", "1")
        add(.other, "x-one", "2")
        add(.other, "x-raw-bin", "AQI=")
        add(.other, "x-bad-bin", "%%%")
        add(.other, "grpc-status", "0")
        XCTAssertEqual([headers.path, headers.method, headers.contentType, headers.acceptEncoding], [
            "/a.B/C", "POST", "application/grpc", "gzip,identity",
        ])
        XCTAssertEqual(headers.encoding, "gzip")
        XCTAssertEqual(headers.timeout, "2S", "a repeated header: the last value wins")
        XCTAssertEqual(headers.metadata.strings(forKey: "x-one"), ["1", "2"], "metadata keeps every value in order")
        XCTAssertEqual(headers.metadata.firstBinary(forKey: "x-raw-bin"), [1, 2])
        XCTAssertNil(headers.metadata.firstBinary(forKey: "x-bad-bin"), "undecodable binary metadata is dropped")
        XCTAssertNil(headers.metadata.firstString(forKey: "grpc-status"), "reserved by gRPC: never metadata")
        XCTAssertFalse(decoded.contains(":authority"), "a reserved header's value is never decoded")
    }
}
