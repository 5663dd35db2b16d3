import EchoProto
import GRPCH2
import Logging
import ProtobufCBridge
import XCTest

/// The runtime's client and server against each other over a real loopback socket.
final class GRPCClientTests: XCTestCase {
    struct Echo: ServiceProvider {
        var serviceName: String { Grpch2_Test_Echo.serviceName }
        var methods: [ServerMethod] {
            [
                .unary(Grpch2_Test_Echo.unary) { request, context in
                    if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(Int(request.delayMs))) }
                    if request.failCode != 0 {
                        throw RPCError(code: StatusCode(rawValue: Int(request.failCode)), message: request.failMessage,
                                       details: [Grpc_Health_V1_HealthCheckRequest()])
                    }
                    var trailing = Metadata()
                    trailing.addString(context.requestMetadata.firstString(forKey: "x-echo") ?? "", forKey: "x-echoed")
                    context.addTrailingMetadata(trailing)
                    var response = Grpch2_Test_EchoResponse()
                    response.message = request.message
                    response.payload = request.payload
                    return response
                },
                .serverStreaming(Grpch2_Test_Echo.serverStream) { request, writer, _ in
                    for i in 0..<Int(request.count) {
                        var response = Grpch2_Test_EchoResponse()
                        response.index = Int32(i)
                        try await writer.write(response)
                    }
                },
                .clientStreaming(Grpch2_Test_Echo.clientStream) { requests, _ in
                    var response = Grpch2_Test_EchoResponse()
                    for try await r in requests { response.message += r.message }
                    return response
                },
                .bidirectionalStreaming(Grpch2_Test_Echo.bidiStream) { requests, writer, _ in
                    for try await r in requests {
                        var response = Grpch2_Test_EchoResponse()
                        response.message = r.message.uppercased()
                        try await writer.write(response)
                    }
                },
            ]
        }
    }

    var server: GRPCServer!
    var client: GRPCClient!

    override func setUp() async throws {
        var router = ServiceRouter()
        router.register(Echo())
        var configuration = ServerConfiguration()
        configuration.port = 0
        server = GRPCServer(configuration: configuration, router: router, logger: Logger(label: "test"))
        let address = try await server.start()
        client = GRPCClient(configuration: .init(host: "127.0.0.1", port: address.port!))
        try await client.connect()
    }

    override func tearDown() async throws {
        await client.close()
        await server.shutdown()
    }

    func request(_ message: String) -> Grpch2_Test_EchoRequest {
        var r = Grpch2_Test_EchoRequest()
        r.message = message
        return r
    }

    func testUnaryCallRoundTripsMessageAndMetadata() async throws {
        var r = request("hello")
        r.payload = Array(repeating: 7, count: 100_000)
        var metadata = Metadata()
        metadata.addString("ping", forKey: "x-echo")
        let call = try await client.start(path: Grpch2_Test_Echo.unary.path, metadata: metadata)
        call.send(r, end: true)
        var got: [Grpch2_Test_EchoResponse] = []
        for try await m in call.responses(Grpch2_Test_EchoResponse.self) { got.append(m) }
        XCTAssertEqual(got.map(\.message), ["hello"])
        XCTAssertEqual(got.first?.payload.count, 100_000)
        XCTAssertEqual(call.trailingMetadata.firstString(forKey: "x-echoed"), "ping")
    }

    func testClientDropsReservedRequestMetadataSoTheCallStillWorks() async throws {
        // Pseudo-headers, content-type and gRPC's own grpc-* names belong to the runtime: a
        // caller's copies would break or hijack the call (a second `:path`, a 1 ns timeout).
        var metadata = Metadata()
        metadata.addString("/no.Such/Method", forKey: ":path")
        metadata.addString("text/plain", forKey: "content-type")
        metadata.addString("1n", forKey: "grpc-timeout")
        metadata.addString("kept", forKey: "x-echo")
        let call = try await client.start(path: Grpch2_Test_Echo.unary.path, metadata: metadata)
        call.send(request("still works"), end: true)
        var got: [Grpch2_Test_EchoResponse] = []
        for try await m in call.responses(Grpch2_Test_EchoResponse.self) { got.append(m) }
        XCTAssertEqual(got.map(\.message), ["still works"])
        XCTAssertEqual(call.trailingMetadata.firstString(forKey: "x-echoed"), "kept")
    }

    func testHandlerErrorArrivesWithStatusDetails() async throws {
        var r = request("")
        r.failCode = 5
        r.failMessage = "nicht gefunden ü"
        do {
            _ = try await client.unary(Grpch2_Test_Echo.unary, r)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .notFound)
            XCTAssertEqual(error.message, "nicht gefunden ü")
            XCTAssertEqual(error.status?.code, 5)
            XCTAssertEqual(error.status?.details.first?.typeURL, "type.googleapis.com/grpc.health.v1.HealthCheckRequest")
        }
    }

    func testServerStreamingDeliversEveryMessageInOrder() async throws {
        var r = request("")
        r.count = 500
        var indices: [Int32] = []
        for try await m in try await client.serverStreaming(Grpch2_Test_Echo.serverStream, r) { indices.append(m.index) }
        XCTAssertEqual(indices, Array(0..<500))
    }

    func testClientStreamingCollectsEveryRequest() async throws {
        let response = try await client.clientStreaming(Grpch2_Test_Echo.clientStream, ["a", "b", "c"].map(request))
        XCTAssertEqual(response.message, "abc")
    }

    func testBidirectionalStreamingAnswersEachRequest() async throws {
        let call = try await client.start(path: Grpch2_Test_Echo.bidiStream.path)
        for w in ["x", "y", "z"] { call.send(request(w)) }
        call.finishRequests()
        var got: [String] = []
        for try await m in call.responses(Grpch2_Test_EchoResponse.self) { got.append(m.message) }
        XCTAssertEqual(got, ["X", "Y", "Z"])
    }

    func testDeadlineEndsASlowCallWithDeadlineExceeded() async throws {
        var r = request("slow")
        r.delayMs = 10_000
        let start = ContinuousClock.now
        do {
            _ = try await client.unary(Grpch2_Test_Echo.unary, r, timeout: .milliseconds(100))
            XCTFail("expected DEADLINE_EXCEEDED")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .deadlineExceeded)
        }
        // The 100 ms deadline ended it, not the 10 s handler (a loaded machine's margin: 1 s was tight).
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testUnknownMethodIsUnimplemented() async throws {
        let call = try await client.start(path: "/grpch2.test.Echo/Nope")
        call.send(request("x"), end: true)
        do {
            for try await _ in call.responses(Grpch2_Test_EchoResponse.self) {}
            XCTFail("expected UNIMPLEMENTED")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unimplemented)
        }
    }

    func testOversizedRequestMetadataIsResourceExhaustedAndTheConnectionServesOn() async throws {
        var metadata = Metadata()
        metadata.addString(String(repeating: "a", count: 20_000), forKey: "x-big")  // over the 16 KiB default
        let call = try await client.start(path: Grpch2_Test_Echo.unary.path, metadata: metadata)
        call.send(request("big"), end: true)
        do {
            for try await _ in call.responses(Grpch2_Test_EchoResponse.self) {}
            XCTFail("expected RESOURCE_EXHAUSTED")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted)
            XCTAssertTrue(error.message.contains("header list size"), error.message)
        }
        // The same client (one connection) still serves.
        let reply = try await client.unary(Grpch2_Test_Echo.unary, request("after"))
        XCTAssertEqual(reply.message, "after")
    }

    func testManyConcurrentCallsShareOneConnection() async throws {
        let client = self.client!
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<300 {
                group.addTask {
                    var r = Grpch2_Test_EchoRequest()
                    r.message = "m\(i)"
                    return try await client.unary(Grpch2_Test_Echo.unary, r).message
                }
            }
            var seen = Set<String>()
            for try await m in group { seen.insert(m) }
            XCTAssertEqual(seen.count, 300)
        }
    }
}
