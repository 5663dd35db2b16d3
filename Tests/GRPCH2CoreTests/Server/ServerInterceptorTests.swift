import ProtobufCBridge
import Synchronization
import XCTest

@testable import GRPCH2Core

/// The one interceptor mechanism, without a transport: the router composes its chain into
/// each method once (typed unary methods keep their direct path), outermost first, binding
/// each interceptor to the method; message observers see unary calls too.
final class ServerInterceptorTests: XCTestCase {
    static let echo = MethodDescriptor<Google_Protobuf_StringValue, Google_Protobuf_StringValue>(path: "/test.Echo/Unary", kind: .unary)
    static let stream = MethodDescriptor<Google_Protobuf_StringValue, Google_Protobuf_StringValue>(path: "/test.Echo/Stream", kind: .bidirectionalStreaming)

    final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func append(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    /// Logs in and out; bound, it logs the method's name too; it skips methods named `skip`.
    struct Recording: ServerInterceptor {
        let name: String
        let log: Log
        var method = ""
        var skip: String? = nil

        func bound(to method: ServerMethod.Info) -> Recording? {
            if String(method.methodName) == skip { return nil }
            var copy = self
            copy.method = String(method.methodName)
            return copy
        }

        func intercept<Request: Sendable, Response: Sendable>(
            request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
        ) async throws -> Response {
            log.append("\(name) in \(method)")
            var context = context
            context.observeMessages(MessageObserver(received: { self.log.append("\(self.name) received") }, sent: { self.log.append("\(self.name) sent") }))
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

    static func value(_ s: String) -> Google_Protobuf_StringValue {
        var v = Google_Protobuf_StringValue()
        v.value = s
        return v
    }

    static func router(_ log: Log, skip: String? = nil, interceptorsFirst: Bool = false) -> ServiceRouter {
        var router = ServiceRouter()
        let methods: [ServerMethod] = [
            .unary(echo) { request, _ in
                log.append("handler")
                if request.value == "fail" { throw RPCError(code: .failedPrecondition, message: "no") }
                return request
            },
            .bidirectionalStreaming(stream) { requests, writer, _ in
                for try await request in requests {
                    log.append("handler \(request.value)")
                    try await writer.write(request)
                }
            },
        ]
        if !interceptorsFirst { for m in methods { router.register(m) } }
        router.addInterceptor(Recording(name: "a", log: log))
        router.addInterceptor(Recording(name: "b", log: log, skip: skip))
        if interceptorsFirst { for m in methods { router.register(m) } }
        return router
    }

    static func context(_ path: String, kind: CallKind) -> ServerContext {
        ServerContext(path: path, requestMetadata: Metadata(), deadline: nil, peer: "test", kind: kind)
    }

    /// Runs a method's general form with `messages`; returns what it wrote.
    static func call(_ router: ServiceRouter, _ descriptor: MethodDescriptor<Google_Protobuf_StringValue, Google_Protobuf_StringValue>,
                     _ messages: [String]) async throws -> [String] {
        let entry = try XCTUnwrap(router.method(for: descriptor.path))
        let sink = BufferingSink()
        try await entry.method.handler(
            RequestStream<[UInt8]>.completed(messages.map { value($0).serializedBytes() }),
            ResponseWriter(sink: sink, encode: { $0 }), context(descriptor.path, kind: descriptor.kind))
        return try sink.drain().map { try Google_Protobuf_StringValue(serializedBytes: $0).value }
    }

    func testInterceptorsRunOutermostFirstAndObserveTheUnaryMessagesInsideThemAll() async throws {
        let log = Log()
        let router = Self.router(log)
        let written = try await Self.call(router, Self.echo, ["x"])
        XCTAssertEqual(written, ["x"])
        XCTAssertEqual(log.all, ["a in Unary", "b in Unary", "a received", "b received", "handler", "a sent", "b sent", "b out", "a out"])
    }

    func testAFailureTravelsOutThroughEveryInterceptor() async throws {
        let log = Log()
        let router = Self.router(log)
        do {
            _ = try await Self.call(router, Self.echo, ["fail"])
            XCTFail("the handler's error must reach the caller")
        } catch {
            XCTAssertEqual(RPCError(mapping: error).code, .failedPrecondition)
        }
        XCTAssertEqual(Array(log.all.suffix(2)), ["b out: FAILED_PRECONDITION", "a out: FAILED_PRECONDITION"])
        XCTAssertFalse(log.all.contains("a sent"), "no response was sent")
    }

    func testATypedUnaryMethodKeepsItsDirectPathWithInterceptors() {
        let router = Self.router(Log())
        XCTAssertNotNil(router.method(for: Self.echo.path)?.method.startUnary)
        XCTAssertNil(router.method(for: Self.stream.path)?.method.startUnary)
    }

    func testAnInterceptorThatDoesNotBindToAMethodStaysOutOfItsCalls() async throws {
        let log = Log()
        let router = Self.router(log, skip: "Unary")
        _ = try await Self.call(router, Self.echo, ["x"])
        XCTAssertEqual(log.all, ["a in Unary", "a received", "handler", "a sent", "a out"])
    }

    func testInterceptorsAddedBeforeTheMethodsApplyToThemToo() async throws {
        let log = Log()
        let router = Self.router(log, interceptorsFirst: true)
        _ = try await Self.call(router, Self.echo, ["x"])
        XCTAssertEqual(log.all.first, "a in Unary")
        XCTAssertEqual(log.all.last, "a out")
    }

    func testAStreamingCallIsInterceptedOnceAndEachMessageObserved() async throws {
        let log = Log()
        let router = Self.router(log)
        let written = try await Self.call(router, Self.stream, ["1", "2"])
        XCTAssertEqual(written, ["1", "2"])
        XCTAssertEqual(log.all, [
            "a in Stream", "b in Stream",
            "a received", "b received", "handler 1", "a sent", "b sent",
            "a received", "b received", "handler 2", "a sent", "b sent",
            "b out", "a out",
        ])
    }
}
