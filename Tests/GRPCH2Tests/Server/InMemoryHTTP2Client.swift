import NIOCore
import NIOEmbedded
import ProtobufCBridge
import XCTest

@testable import GRPCH2

/// A `ServerConnectionHandler` in an `EmbeddedChannel`, driven by a client-side
/// `NGHTTP2Session` in the same thread: real HTTP/2 frames, real nghttp2 on both ends, no
/// socket and no other thread. Handlers run on the embedded loop (`handlerExecution =
/// .eventLoop`), so a handler that does not suspend completes within `exchange()`.
/// The socket tests (`GRPCClientTests`, `Tests/python`) stay beside these.
final class InMemoryHTTP2Client: NGHTTP2SessionDelegate {
    struct Response {
        var headers: [(String, String)] = []
        var trailers: [(String, String)] = []
        var data: [UInt8] = []
        var closed = false
        fileprivate var headersDone = false

        /// A header from the headers or (first) the trailers.
        func value(_ name: String) -> String? {
            (trailers + headers).first { $0.0 == name }?.1
        }
        var grpcStatus: Int? { value("grpc-status").flatMap(Int.init) }
        /// The gRPC messages in the response body (uncompressed).
        var messages: [[UInt8]] {
            var out: [[UInt8]] = []
            var i = 0
            while i + 5 <= data.count {
                let n = Int(data[i + 1]) << 24 | Int(data[i + 2]) << 16 | Int(data[i + 3]) << 8 | Int(data[i + 4])
                out.append(Array(data[i + 5..<min(data.count, i + 5 + n)]))
                i += 5 + n
            }
            return out
        }
    }

    let channel: EmbeddedChannel
    private var session: NGHTTP2Session!
    private(set) var responses: [Int32: Response] = [:]
    private var requestBodies: [Int32: [UInt8]] = [:]

    init(router: ServiceRouter, configuration: ServerConfiguration = ServerConfiguration()) throws {
        var configuration = configuration
        configuration.handlerExecution = .eventLoop
        channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ServerConnectionHandler(router: router, configuration: configuration, logger: .init(label: "in-memory")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
        session = try NGHTTP2Session(
            role: .client, delegate: self,
            settings: HTTP2SessionSettings(maxConcurrentStreams: 100, initialStreamWindow: 1 << 20, connectionWindow: 1 << 24,
                                           maxFrameSize: 16384, maxHeaderListSize: 1 << 16))
    }

    deinit {
        session?.close()
    }

    /// Opens a gRPC call with `messages` as its (uncompressed) request body and half-closes.
    @discardableResult
    func call(_ path: String, messages: [[UInt8]], metadata: [(String, String)] = []) throws -> Int32 {
        var body: [UInt8] = []
        for m in messages {
            body.append(0)
            body.append(contentsOf: withUnsafeBytes(of: UInt32(m.count).bigEndian, Array.init))
            body.append(contentsOf: m)
        }
        let headers = [
            HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", path),
            HeaderField(":authority", "localhost"), HeaderField("content-type", "application/grpc"), HeaderField("te", "trailers"),
        ] + metadata.map { HeaderField($0.0, $0.1) }
        let id = try session.submitRequest(headers: headers)
        requestBodies[id] = body
        responses[id] = Response()
        return id
    }

    /// Moves frames both ways, running the loop's tasks in between, until nothing moves.
    func exchange() throws {
        for _ in 0..<64 {
            var out: [UInt8] = []  // the client session writes the connection preface itself
            try session.send(into: &out)
            if !out.isEmpty { try channel.writeInbound(channel.allocator.buffer(bytes: out)) }
            channel.embeddedEventLoop.run()
            var received = false
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                received = true
                try buffer.readableBytesView.withUnsafeBytes { try session.receive($0) }
            }
            if out.isEmpty && !received && !session.wantsWrite { return }
        }
        XCTFail("the exchange did not settle")
    }

    /// `call` then `exchange`: the finished response.
    func unary(_ path: String, _ message: [UInt8], metadata: [(String, String)] = []) throws -> Response {
        let id = try call(path, messages: [message], metadata: metadata)
        try exchange()
        return responses[id]!
    }

    // MARK: NGHTTP2SessionDelegate (client side)

    func http2BeginHeaders(streamID: Int32, isRequest: Bool) {}

    func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String,
                     value: @autoclosure () -> String) {
        if responses[streamID]?.headersDone == true {
            responses[streamID]?.trailers.append((name(), value()))
        } else {
            responses[streamID]?.headers.append((name(), value()))
        }
    }

    func http2HeadersComplete(streamID: Int32, endStream: Bool) { responses[streamID]?.headersDone = true }
    func http2Data(streamID: Int32, bytes: consuming [UInt8]) {
        let count = bytes.count
        responses[streamID]?.data.append(contentsOf: bytes)
        session.consume(streamID: streamID, count: count)
    }
    func http2EndOfData(streamID: Int32) {}
    func http2StreamClosed(streamID: Int32, errorCode: UInt32) { responses[streamID]?.closed = true }

    func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk {
        let body = requestBodies[streamID] ?? []
        let n = min(maxLength, body.count)
        requestBodies[streamID] = Array(body.dropFirst(n))
        return n == body.count ? .end(body[..<n], trailers: []) : .bytes(body[..<n])
    }

    func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32) {}
    func http2PingAckReceived() {}
}
