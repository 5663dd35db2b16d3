import EchoProto
import ProtobufCBridge
import Synchronization
import XCTest

@testable import GRPCH2

/// `ServerConnectionHandler` in memory (`InMemoryHTTP2Client`): calls, refusals and the
/// interceptor chain, without sockets. Synchronous tests: the embedded loop belongs to the
/// test's thread, and the handlers here never suspend.
final class ServerConnectionHandlerTests: XCTestCase {
    static let unaryPath = Grpch2_Test_Echo.unary.path

    static func echo(_ log: Log? = nil) -> ServerMethod {
        .unary(Grpch2_Test_Echo.unary) { request, context in
            log?.append("handler")
            if request.failCode != 0 {
                throw RPCError(code: StatusCode(rawValue: Int(request.failCode)), message: request.failMessage)
            }
            context.addTrailingMetadata(context.requestMetadata.firstString(forKey: "x-echo") ?? "-", forKey: "x-echoed")
            var response = Grpch2_Test_EchoResponse()
            response.message = request.message
            return response
        }
    }

    static func request(_ message: String, failCode: Int32 = 0) -> [UInt8] {
        var r = Grpch2_Test_EchoRequest()
        r.message = message
        r.failCode = failCode
        r.failMessage = failCode == 0 ? "" : "failed on purpose"
        return r.serializedBytes()
    }

    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func append(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct Recording: ServerInterceptor {
        let name: String
        let log: Log
        func intercept<Request: Sendable, Response: Sendable>(
            request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
        ) async throws -> Response {
            log.append("\(name) in")
            do {
                let response = try await next(request, context)
                log.append("\(name) out")
                return response
            } catch {
                log.append("\(name) out: \(RPCError(mapping: error).code.name)")
                throw error
            }
        }
    }

    struct Refusing: ServerInterceptor {
        func intercept<Request: Sendable, Response: Sendable>(
            request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
        ) async throws -> Response {
            guard context.requestMetadata.firstString(forKey: "authorization") != nil else {
                throw RPCError(code: .unauthenticated, message: "no credentials")
            }
            return try await next(request, context)
        }
    }

    func testAUnaryCallIsServedWithoutASocket() throws {
        var router = ServiceRouter()
        router.register(Self.echo())
        let client = try InMemoryHTTP2Client(router: router)
        let response = try client.unary(Self.unaryPath, Self.request("hello"), metadata: [("x-echo", "42")])
        XCTAssertEqual(response.value(":status"), "200")
        XCTAssertEqual(response.grpcStatus, 0)
        XCTAssertEqual(response.value("x-echoed"), "42")
        XCTAssertEqual(response.messages.count, 1)
        let message = try XCTUnwrap(response.messages.first)
        XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: message).message, "hello")
        XCTAssertTrue(response.closed)
    }

    func testManyCallsOnOneConnectionReuseStreamObjectsAndEachGetsItsOwnAnswer() throws {
        var router = ServiceRouter()
        router.register(Self.echo())
        let client = try InMemoryHTTP2Client(router: router)
        let ids = try (0..<200).map { i in try client.call(Self.unaryPath, messages: [Self.request("m\(i)")]) }
        try client.exchange()
        for (i, id) in ids.enumerated() {
            let response = try XCTUnwrap(client.responses[id])
            XCTAssertEqual(response.grpcStatus, 0, "call \(i)")
            let message = try XCTUnwrap(response.messages.first, "call \(i)")
            XCTAssertEqual(try Grpch2_Test_EchoResponse(serializedBytes: message).message, "m\(i)")
        }
    }

    func testAHandlerErrorIsTrailersOnlyWithItsStatus() throws {
        var router = ServiceRouter()
        router.register(Self.echo())
        let client = try InMemoryHTTP2Client(router: router)
        let response = try client.unary(Self.unaryPath, Self.request("x", failCode: 5))
        XCTAssertEqual(response.grpcStatus, 5)
        XCTAssertEqual(response.value("grpc-message"), "failed on purpose")
        XCTAssertTrue(response.trailers.isEmpty, "Trailers-Only: the status is in the one header block")
        XCTAssertTrue(response.data.isEmpty)
    }

    func testAnUnknownMethodIsUnimplemented() throws {
        let client = try InMemoryHTTP2Client(router: ServiceRouter())
        let response = try client.unary("/no.Such/Method", [])
        XCTAssertEqual(response.grpcStatus, StatusCode.unimplemented.rawValue)
    }

    func testAUnaryCallWithTwoMessagesIsRefusedAndTheNextCallIsServed() throws {
        var router = ServiceRouter()
        router.register(Self.echo())
        let client = try InMemoryHTTP2Client(router: router)
        let id = try client.call(Self.unaryPath, messages: [Self.request("a"), Self.request("b")])
        try client.exchange()
        XCTAssertEqual(client.responses[id]?.grpcStatus, StatusCode.unimplemented.rawValue)
        XCTAssertEqual(try client.unary(Self.unaryPath, Self.request("c")).grpcStatus, 0)
    }

    func testInterceptorsRunOutermostFirstAroundTheHandler() throws {
        let log = Log()
        var router = ServiceRouter()
        router.register(Self.echo(log))
        router.addInterceptor(Recording(name: "a", log: log))
        router.addInterceptor(Recording(name: "b", log: log))
        let client = try InMemoryHTTP2Client(router: router)
        XCTAssertEqual(try client.unary(Self.unaryPath, Self.request("x")).grpcStatus, 0)
        XCTAssertEqual(log.all, ["a in", "b in", "handler", "b out", "a out"])
        XCTAssertEqual(try client.unary(Self.unaryPath, Self.request("x", failCode: 9)).grpcStatus, 9)
        XCTAssertEqual(Array(log.all.dropFirst(5)), ["a in", "b in", "handler", "b out: FAILED_PRECONDITION", "a out: FAILED_PRECONDITION"])
    }

    func testAnInterceptorThatThrowsEndsTheCallBeforeTheHandler() throws {
        let log = Log()
        var router = ServiceRouter()
        router.register(Self.echo(log))
        router.addInterceptor(Refusing())
        let client = try InMemoryHTTP2Client(router: router)
        let refused = try client.unary(Self.unaryPath, Self.request("x"))
        XCTAssertEqual(refused.grpcStatus, StatusCode.unauthenticated.rawValue)
        XCTAssertEqual(refused.value("grpc-message"), "no credentials")
        XCTAssertEqual(log.all, [], "the handler never ran")
        let allowed = try client.unary(Self.unaryPath, Self.request("x"), metadata: [("authorization", "Bearer t")])
        XCTAssertEqual(allowed.grpcStatus, 0)
        XCTAssertEqual(log.all, ["handler"])
    }
}
