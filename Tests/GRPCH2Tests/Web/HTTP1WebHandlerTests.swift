import EchoProto
import NIOCore
import NIOEmbedded
import ProtobufCBridge
import XCTest

@testable import GRPCH2

/// `HTTP1WebHandler` in an `EmbeddedChannel` behind the real `ProtocolDetector`: raw HTTP/1.1
/// bytes in, NIO's HTTP/1.1 codec and the web handler, raw bytes out. Handlers run on the
/// embedded loop (`handlerExecution = .eventLoop`), so a call that does not suspend completes
/// within `exchange`. The socket tests (Tests/python/test_web_protocols.py and its siblings)
/// stay beside these.
final class HTTP1WebHandlerTests: XCTestCase {
    struct Reply {
        var statusLine: String
        var headers: [(String, String)]
        var body: [UInt8]
        func value(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The echo method of ServerConnectionHandlerTests (its `failCode` makes it throw).
    static func router() -> ServiceRouter {
        var router = ServiceRouter()
        router.register(ServerConnectionHandlerTests.echo())
        return router
    }

    static func channel(_ router: ServiceRouter = router(), _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> EmbeddedChannel {
        var configuration = ServerConfiguration()
        configuration.web.enabled = true
        configuration.handlerExecution = .eventLoop
        configure(&configuration)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ProtocolDetector(router: router, configuration: configuration, logger: .init(label: "http1-web-test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
        return channel
    }

    /// Sends one request's bytes, runs the loop, and parses what came back (one response, with
    /// a content-length; nil when nothing was written).
    static func exchange(_ channel: EmbeddedChannel, _ request: String, body: [UInt8] = []) throws -> Reply? {
        try channel.writeInbound(channel.allocator.buffer(bytes: Array(request.utf8) + body))
        channel.embeddedEventLoop.run()
        var out: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        guard !out.isEmpty else { return nil }
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0...(out.count - separator.count)).first(where: { Array(out[$0..<$0 + separator.count]) == separator }) else {
            XCTFail("no end of head in \(String(decoding: out, as: UTF8.self))")
            return nil
        }
        let lines = String(decoding: out[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let headers = lines.dropFirst().map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Reply(statusLine: lines[0], headers: headers, body: Array(out[(end + separator.count)...]))
    }

    static func post(_ path: String, contentType: String, body: [UInt8], extra: String = "", version: String = "HTTP/1.1") -> String {
        "POST \(path) \(version)\r\nhost: test\r\ncontent-type: \(contentType)\r\ncontent-length: \(body.count)\r\n\(extra)\r\n"
    }

    func testAConnectUnaryCallInProtoIsAnsweredWithTheMessageAndItsTrailersAsHeaders() throws {
        let channel = try Self.channel()
        let body = ServerConnectionHandlerTests.request("hello")
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto",
                                                                            body: body, extra: "x-echo: 42\r\n"), body: body))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 200 OK")
        XCTAssertEqual(reply.value("content-type"), "application/proto")
        XCTAssertEqual(reply.value("trailer-x-echoed"), "42", "the handler's trailing metadata, as Connect unary sends it")
        XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: reply.body).message, "hello")
        XCTAssertTrue(channel.isActive, "HTTP/1.1 keeps the connection for the next call")
    }

    func testTwoCallsInTurnOnOneConnectionEachGetTheirOwnAnswer() throws {
        let channel = try Self.channel()
        for word in ["first", "second"] {
            let body = ServerConnectionHandlerTests.request(word)
            let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body), body: body))
            XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: reply.body).message, word)
        }
    }

    func testAHandlerErrorIsAConnectErrorWithItsHTTPStatusAndCode() throws {
        let channel = try Self.channel()
        let body = ServerConnectionHandlerTests.request("x", failCode: Int32(StatusCode.notFound.rawValue))
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body), body: body))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 404 Not Found")
        XCTAssertEqual(reply.value("content-type"), "application/json")
        XCTAssertTrue(reply.text.contains("\"code\":\"not_found\""), reply.text)
        XCTAssertTrue(reply.text.contains("failed on purpose"), reply.text)
    }

    func testAnUnknownMethodIsUnimplementedWithHTTP501() throws {
        let channel = try Self.channel()
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post("/no.Such/Method", contentType: "application/proto", body: [])))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 501 Not Implemented")
        XCTAssertTrue(reply.text.contains("\"code\":\"unimplemented\""), reply.text)
        XCTAssertTrue(reply.text.contains("/no.Such/Method"), reply.text)
    }

    func testAMethodOtherThanPostIsRefusedWith405AndTheConnectionServesTheNextRequest() throws {
        let channel = try Self.channel()
        let refused = try XCTUnwrap(try Self.exchange(channel, "PUT /x HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n"))
        XCTAssertEqual(refused.statusLine, "HTTP/1.1 405 Method Not Allowed")
        XCTAssertTrue(refused.text.contains("calls are POST requests"), refused.text)
        XCTAssertTrue(channel.isActive)
        let body = ServerConnectionHandlerTests.request("after")
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body), body: body))
        XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: reply.body).message, "after")
    }

    func testPlainGRPCOverHTTP1IsRefusedWith415SayingItNeedsHTTP2() throws {
        let channel = try Self.channel()
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/grpc", body: [])))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 415 Unsupported Media Type")
        XCTAssertTrue(reply.text.contains("gRPC itself needs HTTP/2"), reply.text)
    }

    func testAHeaderListOverTheLimitIsRefusedWith431BeforeTheMethodIsLookedAt() throws {
        let channel = try Self.channel { $0.maxHeaderListSize = 512 }
        let big = "x-big: \(String(repeating: "a", count: 600))\r\n"
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post("/no.Such/Method", contentType: "application/proto", body: [], extra: big)))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 431 Request Header Fields Too Large")
        XCTAssertTrue(reply.text.contains("larger than max (512)"), reply.text)
    }

    func testHeaderListSizeCountsTheHeadAsHTTP2Does() throws {
        // RFC 9113 6.5.2: name + value + 32 per field; the request line as :method and :path.
        let channel = try Self.channel { $0.maxHeaderListSize = 117 }
        // ":method" GET (7+3+32) + ":path" /a (5+2+32) + "ab: cd" (2+2+32) = 117: at the limit, not over it.
        let atLimit = try XCTUnwrap(try Self.exchange(channel, "GET /a HTTP/1.1\r\nab: cd\r\n\r\n"))
        XCTAssertEqual(atLimit.statusLine, "HTTP/1.1 405 Method Not Allowed")
        let over = try XCTUnwrap(try Self.exchange(channel, "GET /a HTTP/1.1\r\nab: cde\r\n\r\n"))
        XCTAssertEqual(over.statusLine, "HTTP/1.1 431 Request Header Fields Too Large")
    }

    func testABodyOverTheLimitIsResourceExhaustedAndTheConnectionCloses() throws {
        let channel = try Self.channel { $0.maxReceiveMessageSize = 30 }  // body limit 30 / 3 * 4 + 64 = 104
        let body = [UInt8](repeating: 0, count: 200)
        let reply = try XCTUnwrap(try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body), body: body))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 429 Too Many Requests")
        XCTAssertTrue(reply.text.contains("\"code\":\"resource_exhausted\""), reply.text)
        XCTAssertEqual(reply.value("connection"), "close")
        XCTAssertFalse(channel.isActive, "the rest of an oversized body is not read: the connection ends")
    }

    func testAPreflightFromAnAllowedOriginGets204WithTheCORSFields() throws {
        let channel = try Self.channel { $0.web.corsOrigins = ["https://app.example"] }
        let reply = try XCTUnwrap(try Self.exchange(channel, "OPTIONS \(ServerConnectionHandlerTests.unaryPath) HTTP/1.1\r\nhost: test\r\n"
                                                    + "origin: https://app.example\r\naccess-control-request-headers: x-echo\r\n\r\n"))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 204 No Content")
        XCTAssertEqual(reply.value("access-control-allow-origin"), "https://app.example")
        XCTAssertTrue(reply.value("access-control-allow-headers")?.contains("x-echo") ?? false, "\(reply.headers)")
    }

    func testAPreflightFromAnotherOriginIsForbidden() throws {
        let channel = try Self.channel { $0.web.corsOrigins = ["https://app.example"] }
        let reply = try XCTUnwrap(try Self.exchange(channel, "OPTIONS /x HTTP/1.1\r\nhost: test\r\norigin: https://evil.example\r\n\r\n"))
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 403 Forbidden")
        XCTAssertNil(reply.value("access-control-allow-origin"))
        XCTAssertTrue(reply.text.contains("https://evil.example"), reply.text)
    }

    func testAnHTTP10RequestWithoutKeepAliveIsAnsweredThenClosed() throws {
        let channel = try Self.channel()
        let reply = try XCTUnwrap(try Self.exchange(channel, "PUT /x HTTP/1.0\r\ncontent-length: 0\r\n\r\n"))
        XCTAssertEqual(reply.statusLine, "HTTP/1.0 405 Method Not Allowed")
        XCTAssertEqual(reply.value("connection"), "close")
        XCTAssertFalse(channel.isActive)
    }

    func testAConnectionWithoutAWholeRequestInTimeIsClosed() throws {
        let channel = try Self.channel { $0.web.requestTimeout = .seconds(5) }
        XCTAssertNil(try Self.exchange(channel, "POST /x HTTP/1.1\r\nhost: test\r\n"))  // the head, never finished
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertTrue(channel.isActive, "closed before its time")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertFalse(channel.isActive)
    }

    func testShutdownClosesAnIdleConnectionAtOnce() throws {
        let channel = try Self.channel()
        let body = ServerConnectionHandlerTests.request("before")
        _ = try Self.exchange(channel, Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body), body: body)
        XCTAssertTrue(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testShutdownDuringARequestAnswersItAndTheGracePeriodEndsTheConnection() throws {
        let channel = try Self.channel { $0.keepalive.gracePeriod = .seconds(3) }
        let body = ServerConnectionHandlerTests.request("last")
        try channel.writeInbound(channel.allocator.buffer(bytes: Array(Self.post(ServerConnectionHandlerTests.unaryPath, contentType: "application/proto", body: body).utf8)))
        channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())  // the head is in, the body not yet
        XCTAssertTrue(channel.isActive, "a request under way is not cut off")
        let reply = try XCTUnwrap(try Self.exchange(channel, "", body: body))
        XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: reply.body).message, "last")
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        XCTAssertFalse(channel.isActive, "closed at the end of the grace period")
    }

    /// A GET route answers off the event loop (`HTTP1WebHandler+GetRoutes`), so this one runs in
    /// an `NIOAsyncTestingChannel`, whose loop other threads may call, and waits for the answer.
    func testAGetRouteIsAnsweredWithItsStatusHeadersAndBody() async throws {
        var router = Self.router()
        router.getRoutes.append(HTTPGetRoute(pathPrefix: "/status") { request in
            HTTPGetResponse(status: 200, headers: [("content-type", "text/plain"), ("x-query", request.query)], body: Array("ok \(request.path)".utf8))
        })
        var configuration = ServerConfiguration()
        configuration.web.enabled = true
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext { [router, configuration] in
            try channel.pipeline.syncOperations.addHandler(
                ProtocolDetector(router: router, configuration: configuration, logger: .init(label: "http1-web-get-test")))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).get()
        try await channel.writeInbound(channel.allocator.buffer(bytes: Array("GET /status/now?a=1 HTTP/1.1\r\nhost: test\r\n\r\n".utf8)))
        var out = ""
        for _ in 0..<500 where !out.hasSuffix("ok /status/now") {
            await channel.testingEventLoop.run()
            while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 200 OK\r\n"), out)
        XCTAssertTrue(out.lowercased().contains("x-query: a=1\r\n"), out)
        XCTAssertTrue(out.hasSuffix("\r\n\r\nok /status/now"), out)
        let active = try await channel.testingEventLoop.executeInContext { channel.isActive }
        XCTAssertTrue(active, "keep-alive: the connection waits for the next request")
        _ = try? await channel.finish()
    }
}
