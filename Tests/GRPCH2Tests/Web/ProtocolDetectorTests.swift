import NIOCore
import NIOEmbedded
import XCTest

@testable import GRPCH2

/// The first bytes of a connection pick its protocol: the HTTP/2 preface (even in pieces) puts
/// the gRPC connection handler in the detector's place, anything else HTTP/1.1 with the web
/// handler; the bytes held so far go on to the chosen handler, and a silent connection closes.
final class ProtocolDetectorTests: XCTestCase {
    static func channel(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> EmbeddedChannel {
        var configuration = ServerConfiguration()
        configuration.web.enabled = true
        configure(&configuration)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ProtocolDetector(router: ServiceRouter(), configuration: configuration, logger: .init(label: "detector")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
        return channel
    }

    static func has<H: ChannelHandler>(_ channel: EmbeddedChannel, _ type: H.Type) -> Bool {
        (try? channel.pipeline.syncOperations.handler(type: type)) != nil
    }

    static func write(_ channel: EmbeddedChannel, _ bytes: some Sequence<UInt8>) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: Array(bytes)))
    }

    /// Everything the channel wrote, as bytes.
    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var out: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        return out
    }

    func testThePrefaceInPiecesWaitsThenHandsTheConnectionToTheGRPCHandler() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish() }
        try Self.write(channel, ProtocolDetector.preface.prefix(7))
        XCTAssertTrue(Self.has(channel, ProtocolDetector.self), "a prefix of the preface: still deciding")
        XCTAssertFalse(Self.has(channel, ServerConnectionHandler.self))
        try Self.write(channel, ProtocolDetector.preface.dropFirst(7))
        try Self.write(channel, [0, 0, 0, 4, 0, 0, 0, 0, 0])  // the client's empty SETTINGS
        XCTAssertTrue(Self.has(channel, ServerConnectionHandler.self))
        XCTAssertFalse(Self.has(channel, ProtocolDetector.self), "the detector leaves the pipeline")
        let out = try Self.written(channel)
        XCTAssertGreaterThanOrEqual(out.count, 9)
        XCTAssertEqual(out[3], 4, "the server's first frame is its SETTINGS: the held preface reached nghttp2")
        XCTAssertTrue(channel.isActive)
    }

    func testAnythingElseIsHTTP1ServedByTheWebHandler() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish() }
        try Self.write(channel, "GET /nothing-here HTTP/1.1\r\nhost: x\r\n\r\n".utf8)
        XCTAssertTrue(Self.has(channel, HTTP1WebHandler.self))
        XCTAssertFalse(Self.has(channel, ProtocolDetector.self))
        XCTAssertFalse(Self.has(channel, ServerConnectionHandler.self))
        let reply = String(decoding: try Self.written(channel), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 "), reply)
    }

    func testABytePastWhereThePrefaceDiffersDecidesAtOnce() throws {
        let channel = try Self.channel()
        defer { _ = try? channel.finish() }
        try Self.write(channel, "PRI * HTTP/1.1".utf8)  // differs at byte 10
        XCTAssertTrue(Self.has(channel, HTTP1WebHandler.self))
    }

    func testAConnectionThatSaysNothingIsClosedAfterTheRequestTimeout() throws {
        let channel = try Self.channel { $0.web.requestTimeout = .milliseconds(50) }
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(49))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        XCTAssertFalse(channel.isActive)
    }
}
