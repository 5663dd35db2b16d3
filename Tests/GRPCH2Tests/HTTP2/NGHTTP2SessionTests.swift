import XCTest

@testable import GRPCH2

/// `NGHTTP2Session` and its C callbacks (NGHTTP2Callbacks.swift): a server session and a
/// client session, real libnghttp2 on both ends, bytes passed between them in memory. Each
/// delegate writes down what the callbacks reported, in order.
final class NGHTTP2SessionTests: XCTestCase {
    final class Recorder: NGHTTP2SessionDelegate {
        var events: [String] = []
        var data: [Int32: [UInt8]] = [:]
        /// What `http2BodyChunk` hands out next, per stream; nil: deferred.
        var bodies: [Int32: BodyChunk] = [:]
        /// Bodies handed out `maxLength` bytes at a time (as a server stream's pending bytes
        /// are), the last piece with trailers; used before `bodies`.
        var pending: [Int32: ArraySlice<UInt8>] = [:]

        func http2BeginHeaders(streamID: Int32, isRequest: Bool) { events.append("begin \(streamID)\(isRequest ? " request" : "")") }
        func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String, value: @autoclosure () -> String) {
            let (n, v) = (name(), value())
            XCTAssertEqual(size, n.utf8.count + v.utf8.count + 32, "RFC 9113 6.5.2 size of \(n)")
            if n == ":path" { XCTAssertEqual("\(token)", "path", "recognised by token") }
            events.append("header \(streamID) \(n): \(v)")
        }
        func http2HeadersComplete(streamID: Int32, endStream: Bool) { events.append("complete \(streamID)\(endStream ? " end" : "")") }
        func http2Data(streamID: Int32, bytes: consuming [UInt8]) { data[streamID, default: []] += bytes }
        func http2EndOfData(streamID: Int32) { events.append("end of data \(streamID)") }
        func http2StreamClosed(streamID: Int32, errorCode: UInt32) { events.append("closed \(streamID) \(errorCode)") }
        func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk {
            if let rest = pending[streamID] {
                let chunk = rest.prefix(maxLength)
                pending[streamID] = rest.count > chunk.count ? rest.dropFirst(chunk.count) : nil
                return pending[streamID] == nil ? .end(chunk, trailers: OutboundHeaders(extra: [HeaderField("grpc-status", "0")])) : .bytes(chunk)
            }
            guard let chunk = bodies.removeValue(forKey: streamID) else { return .deferred }
            return chunk
        }
        func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32) { events.append("goaway \(lastStreamID) \(errorCode)") }
        func http2PingAckReceived() { events.append("ping ack") }

        func headers(_ streamID: Int32) -> [String] { events.filter { $0.hasPrefix("header \(streamID) ") } }
    }

    static let settings = HTTP2SessionSettings(maxConcurrentStreams: 100, initialStreamWindow: 65_535, connectionWindow: 1 << 20,
                                               maxFrameSize: 16_384, maxHeaderListSize: 16_384)
    static let request = [HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", "/pkg.Service/Call"),
                          HeaderField(":authority", "test"), HeaderField("content-type", "application/grpc"), HeaderField("x-meta", "one")]

    var serverRecorder = Recorder()
    var clientRecorder = Recorder()
    var server: NGHTTP2Session!
    var client: NGHTTP2Session!

    override func setUpWithError() throws {
        server = try NGHTTP2Session(role: .server, delegate: serverRecorder, settings: Self.settings)
        client = try NGHTTP2Session(role: .client, delegate: clientRecorder, settings: Self.settings)
    }

    override func tearDown() {
        server?.close()
        client?.close()
    }

    /// Moves frames both ways until neither side has anything to send.
    func pump() throws {
        for _ in 0..<32 {
            var toServer: [UInt8] = []
            var toClient: [UInt8] = []
            try client.send(into: &toServer)
            if !toServer.isEmpty { try toServer.withUnsafeBytes { try server.receive($0) } }
            try server.send(into: &toClient)
            if !toClient.isEmpty { try toClient.withUnsafeBytes { try client.receive($0) } }
            if toServer.isEmpty && toClient.isEmpty { return }
        }
        XCTFail("the sessions did not settle")
    }

    /// A request with a body, answered with headers, a body and trailers.
    func exchangeOneCall() throws -> Int32 {
        let id = try client.submitRequest(headers: Self.request)
        clientRecorder.bodies[id] = .end([1, 2, 3][...], trailers: [])
        try pump()
        serverRecorder.bodies[id] = .end([9, 8][...], trailers: OutboundHeaders(extra: [HeaderField("grpc-status", "0")]))
        try server.submitResponse(streamID: id, headers: OutboundHeaders(extra: [HeaderField(":status", "200")]), hasBody: true)
        try pump()
        return id
    }

    func testARequestReachesTheServerAsHeadersThenItsBodyThenItsEnd() throws {
        let id = try exchangeOneCall()
        XCTAssertEqual(id, 1, "a client's first stream is 1")
        XCTAssertEqual(serverRecorder.events.first, "begin 1 request")
        XCTAssertEqual(serverRecorder.headers(1), Self.request.map { "header 1 \($0.name): \($0.value)" })
        let complete = try XCTUnwrap(serverRecorder.events.firstIndex(of: "complete 1"))
        let end = try XCTUnwrap(serverRecorder.events.firstIndex(of: "end of data 1"))
        XCTAssertLessThan(complete, end)
        XCTAssertEqual(serverRecorder.data[1], [1, 2, 3])
    }

    func testAResponseReachesTheClientAsHeadersBodyAndTrailersThenTheStreamCloses() throws {
        _ = try exchangeOneCall()
        XCTAssertEqual(clientRecorder.events, [
            "begin 1", "header 1 :status: 200", "complete 1",
            "begin 1", "header 1 grpc-status: 0", "complete 1 end", "closed 1 0",
        ])
        XCTAssertEqual(clientRecorder.data[1], [9, 8])
        XCTAssertEqual(serverRecorder.events.last, "closed 1 0")
    }

    func testLargeBodiesOnSeveralStreamsArriveWholeAndInOrderWhenEverySendStopsAtASmallLimit() throws {
        // DATA leaves NO_COPY (`NGHTTP2Session.sendData` writes it into the send buffer); past
        // the send limit nghttp2 is paused after the frame and the next send goes on from there.
        // Each send drops the bytes it kept for a NO_COPY frame when it returns: had nghttp2 sized
        // the next frame before pausing, the next send would find none and fail the connection.
        var ids: [Int32] = []
        for _ in 0..<3 {
            let id = try client.submitRequest(headers: Self.request)
            clientRecorder.bodies[id] = .end([][...], trailers: [])
            ids.append(id)
        }
        try pump()
        var bodies: [Int32: [UInt8]] = [:]
        for (k, id) in ids.enumerated() {
            let body = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ k) }
            bodies[id] = body
            serverRecorder.pending[id] = body[...]
            try server.submitResponse(streamID: id, headers: OutboundHeaders(extra: [HeaderField(":status", "200")]), hasBody: true)
        }
        var sends = 0
        while sends < 100 {
            var toClient: [UInt8] = []
            try server.send(into: &toClient, limit: 1000)
            if toClient.isEmpty { break }
            sends += 1
            XCTAssertLessThanOrEqual(toClient.count, 1000 + 9 + 16_384, "a send stops at the first frame past its limit")
            try toClient.withUnsafeBytes { try client.receive($0) }
        }
        XCTAssertGreaterThanOrEqual(sends, 9, "120,000 bytes of DATA in frames of at most 16,384, one send each")
        for id in ids {
            XCTAssertEqual(clientRecorder.data[id], bodies[id], "stream \(id): every byte, in order")
            XCTAssertTrue(clientRecorder.events.contains("closed \(id) 0"), "stream \(id) ended by its trailers")
        }
    }

    func testAResponseWithoutBodyEndsTheStreamWithItsHeaders() throws {
        let id = try client.submitRequest(headers: Self.request)
        clientRecorder.bodies[id] = .end([][...], trailers: [])
        try pump()
        try server.submitResponse(streamID: id, headers: OutboundHeaders(extra: [HeaderField(":status", "200"), HeaderField("grpc-status", "12")]),
                                  hasBody: false)
        try pump()
        XCTAssertEqual(clientRecorder.events, ["begin 1", "header 1 :status: 200", "header 1 grpc-status: 12", "complete 1 end", "closed 1 0"])
        XCTAssertNil(clientRecorder.data[1])
    }

    func testADeferredBodyWaitsUntilResumed() throws {
        let id = try client.submitRequest(headers: Self.request)
        try pump()
        XCTAssertTrue(serverRecorder.events.contains("complete 1"))
        XCTAssertNil(serverRecorder.data[1], "nothing sent while the body source defers")
        XCTAssertFalse(serverRecorder.events.contains("end of data 1"))
        clientRecorder.bodies[id] = .bytes([5, 5][...])
        client.resumeData(streamID: id)
        try pump()
        XCTAssertEqual(serverRecorder.data[1], [5, 5])
        XCTAssertFalse(serverRecorder.events.contains("end of data 1"), "bytes alone do not end the stream")
        clientRecorder.bodies[id] = .end([6][...], trailers: [])
        client.resumeData(streamID: id)
        try pump()
        XCTAssertEqual(serverRecorder.data[1], [5, 5, 6])
        XCTAssertTrue(serverRecorder.events.contains("end of data 1"))
    }

    func testAResetStreamClosesItOnTheOtherSideWithItsErrorCode() throws {
        let id = try client.submitRequest(headers: Self.request)
        try pump()
        client.resetStream(streamID: id, errorCode: 8)  // CANCEL
        try pump()
        XCTAssertEqual(serverRecorder.events.last, "closed 1 8")
    }

    func testAPingIsAcknowledged() throws {
        try pump()
        client.submitPing()
        try pump()
        XCTAssertEqual(clientRecorder.events, ["ping ack"])
    }

    func testAGoAwayNamesTheLastStreamTheServerProcessed() throws {
        _ = try exchangeOneCall()
        server.submitGoAway(errorCode: 0)
        try pump()
        XCTAssertEqual(clientRecorder.events.last, "goaway 1 0")
        let late = try client.submitRequest(headers: Self.request)
        try pump()
        XCTAssertEqual(clientRecorder.events.last, "closed \(late) 7", "a stream after GOAWAY is refused (REFUSED_STREAM)")
        XCTAssertFalse(serverRecorder.events.contains("begin \(late) request"), "and never reaches the server")
    }

    func testAShutdownNoticeIsAGoAwayWithTheLargestStreamID() throws {
        try pump()
        server.submitShutdownNotice()
        try pump()
        XCTAssertEqual(clientRecorder.events.last, "goaway \(Int32.max) 0")
    }

    func testHTTP1BytesAtAServerSessionAreAFatalError() throws {
        let bytes = Array("GET / HTTP/1.1\r\nhost: x\r\n\r\n".utf8)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try server.receive($0) }) { error in
            let error = error as? NGHTTP2Error
            XCTAssertEqual(error?.isFatal, true, "\(String(describing: error))")
            XCTAssertTrue(error?.description.hasPrefix("nghttp2: ") ?? false)
        }
        XCTAssertTrue(serverRecorder.events.isEmpty)
    }

    func testAClosedSessionIsInactiveAndIgnoresInput() throws {
        try pump()
        XCTAssertTrue(server.isActive)
        server.close()
        XCTAssertFalse(server.isActive)
        XCTAssertFalse(server.wantsWrite)
        var out: [UInt8] = []
        try server.send(into: &out)
        XCTAssertTrue(out.isEmpty)
        try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try server.receive($0) }
        server = nil
    }
}
