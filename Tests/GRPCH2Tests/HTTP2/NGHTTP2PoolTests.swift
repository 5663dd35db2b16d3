import XCTest

@testable import GRPCH2

/// nghttp2's slab allocator (`HTTP2/NGHTTP2Pool.swift`): blocks of 64 << k bytes in per-class
/// free lists, large blocks straight from malloc, realloc that keeps contents.
final class NGHTTP2PoolTests: XCTestCase {
    func testBlocksAreAlignedLikeMallocAndHoldTheirWholeSize() throws {
        let pool = NGHTTP2Pool()
        var blocks: [(UnsafeMutableRawPointer, Int)] = []
        for size in [0, 1, 15, 16, 47, 48, 49, 100, 1000, 4000, 16_368, 16_369, 70_000] {
            let p = try XCTUnwrap(pool.allocate(size))
            XCTAssertEqual(Int(bitPattern: p) % 16, 0, "size \(size)")
            p.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: size), count: size)
            blocks.append((p, size))
        }
        // No block overlaps another: each still holds its own fill byte.
        for (p, size) in blocks {
            let bytes = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: size)
            XCTAssertTrue(bytes.allSatisfy { $0 == UInt8(truncatingIfNeeded: size) }, "size \(size)")
        }
        for (p, _) in blocks { pool.free(p) }
    }

    func testSizeClassesCountTheHeader() {
        XCTAssertEqual(NGHTTP2Pool.sizeClass(48), 0)  // 48 + 16 = 64
        XCTAssertEqual(NGHTTP2Pool.sizeClass(49), 1)
        XCTAssertEqual(NGHTTP2Pool.sizeClass(112), 1)  // 128
        XCTAssertEqual(NGHTTP2Pool.sizeClass(113), 2)
        XCTAssertEqual(NGHTTP2Pool.sizeClass(16_368), 8)  // 16 KiB, the largest pooled class
        XCTAssertEqual(NGHTTP2Pool.sizeClass(16_369), 9)  // unpooled
    }

    func testAFreedBlockIsReusedForTheSameClass() throws {
        let pool = NGHTTP2Pool()
        let a = try XCTUnwrap(pool.allocate(40))
        pool.free(a)
        XCTAssertEqual(pool.freeBlockCount(sizeClass: 0), 1)
        let b = try XCTUnwrap(pool.allocate(10))  // same class: the same block comes back
        XCTAssertEqual(a, b)
        XCTAssertEqual(pool.freeBlockCount(sizeClass: 0), 0)
        let c = try XCTUnwrap(pool.allocate(10))
        XCTAssertNotEqual(b, c)
        pool.free(b)
        pool.free(c)
        pool.free(nil)  // as free(3): a no-op
        XCTAssertEqual(pool.freeBlockCount(sizeClass: 0), 2)
    }

    func testFreeListsAreCappedSoAConnectionKeepsAtMostItsPeak() throws {
        let pool = NGHTTP2Pool()
        let cap = NGHTTP2Pool.freeBytesPerClass / 64  // class 0 blocks kept at most
        let blocks = try (0..<(cap + 50)).map { _ in try XCTUnwrap(pool.allocate(32)) }
        for p in blocks { pool.free(p) }
        XCTAssertEqual(pool.freeBlockCount(sizeClass: 0), cap)
        // Large blocks are never kept.
        let big = try XCTUnwrap(pool.allocate(100_000))
        pool.free(big)
        for k in 1..<NGHTTP2Pool.classCount { XCTAssertEqual(pool.freeBlockCount(sizeClass: k), 0) }
    }

    func testReallocateKeepsTheContentsAndGrowsInPlaceWithinTheBlock() throws {
        let pool = NGHTTP2Pool()
        let p = try XCTUnwrap(pool.allocate(20))
        for i in 0..<20 { p.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
        let same = try XCTUnwrap(pool.reallocate(p, 48))  // still fits the 64-byte block
        XCTAssertEqual(same, p)
        let moved = try XCTUnwrap(pool.reallocate(same, 5000))
        XCTAssertNotEqual(moved, p)
        for i in 0..<20 { XCTAssertEqual(moved.load(fromByteOffset: i, as: UInt8.self), UInt8(i)) }
        XCTAssertEqual(pool.freeBlockCount(sizeClass: 0), 1, "the old block went back to its free list")
        let huge = try XCTUnwrap(pool.reallocate(moved, 200_000))  // to an unpooled block
        for i in 0..<20 { XCTAssertEqual(huge.load(fromByteOffset: i, as: UInt8.self), UInt8(i)) }
        let fresh = try XCTUnwrap(pool.reallocate(nil, 10))  // realloc(NULL, n) is malloc(n)
        pool.free(huge)
        pool.free(fresh)
    }

    func testSessionsAllocateThroughThePoolAcrossAWholeExchange() throws {
        // A client and a server session talking to each other: every nghttp2 allocation and
        // free of a real exchange goes through their pools (a bad header or a double free
        // would crash here, under the debug allocator's checks).
        final class Quiet: NGHTTP2SessionDelegate {
            var headers = 0, closed = 0
            func http2BeginHeaders(streamID: Int32, isRequest: Bool) {}
            func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String, value: @autoclosure () -> String) { headers += 1 }
            func http2HeadersComplete(streamID: Int32, endStream: Bool) {}
            func http2Data(streamID: Int32, bytes: consuming [UInt8]) {}
            func http2EndOfData(streamID: Int32) {}
            func http2StreamClosed(streamID: Int32, errorCode: UInt32) { closed += 1 }
            func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk { .end([], trailers: []) }
            func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32) {}
            func http2PingAckReceived() {}
        }
        let settings = HTTP2SessionSettings(maxConcurrentStreams: 100, initialStreamWindow: 65535, connectionWindow: 1 << 20,
                                            maxFrameSize: 16384, maxHeaderListSize: 16384)
        let clientDelegate = Quiet(), serverDelegate = Quiet()
        let client = try NGHTTP2Session(role: .client, delegate: clientDelegate, settings: settings)
        let server = try NGHTTP2Session(role: .server, delegate: serverDelegate, settings: settings)
        defer { client.close(); server.close() }
        var toServer: [UInt8] = []  // a client session sends the connection preface itself
        for i in 0..<50 {
            _ = try client.submitRequest(headers: [
                HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", "/s/m\(i)"),
                HeaderField(":authority", "x"), HeaderField("x-n", String(repeating: "v", count: i * 40)),
            ])
        }
        for _ in 0..<10 {
            try client.send(into: &toServer)
            try toServer.withUnsafeBytes { try server.receive($0) }
            toServer = []
            var toClient: [UInt8] = []
            try server.send(into: &toClient)
            try toClient.withUnsafeBytes { try client.receive($0) }
        }
        XCTAssertEqual(serverDelegate.headers, 50 * 5)
    }
}
