import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// A method as the runtime sees it: a typed unary method keeps its direct form (`startUnary`)
/// with or without interceptors; an untyped one gets the chain around its general handler, and
/// an interceptor that binds to no method leaves the method as it was.
final class ServerMethodTests: XCTestCase {
    typealias S = CoreTestSupport
    static let unary = MethodDescriptor<S.Text, S.Text>(path: "/test.Method/Unary", kind: .unary)
    static let info = ServerMethod.Info(path: "/test.Method/Unary", kind: .unary)

    static func untyped(_ log: ServerInterceptorTests.Log) -> ServerMethod {
        ServerMethod(path: "/test.Method/Raw", kind: .bidirectionalStreaming) { requests, writer, _ in
            log.append("handler")
            for try await message in requests { try await writer.write(message) }
        }
    }

    func testInfoNamesThePathAndKind() {
        let method = ServerMethod.unary(Self.unary) { request, _ in request }
        XCTAssertEqual(method.info.path, "/test.Method/Unary")
        XCTAssertEqual(method.info.kind, .unary)
        XCTAssertEqual(method.info.methodName, "Unary")
    }

    func testATypedUnaryMethodKeepsItsDirectFormWithOrWithoutAChain() {
        let log = ServerInterceptorTests.Log()
        let method = ServerMethod.unary(Self.unary) { request, _ in request }
        XCTAssertNotNil(method.startUnary)
        XCTAssertNotNil(method.intercepted(by: []).startUnary)
        XCTAssertNotNil(method.intercepted(by: [ServerInterceptorTests.Recording(name: "a", log: log)]).startUnary)
        XCTAssertNil(Self.untyped(log).startUnary, "an untyped method has only its general form")
    }

    func testAnUntypedMethodRunsTheChainAroundItsHandler() async throws {
        let log = ServerInterceptorTests.Log()
        let wrapped = Self.untyped(log).intercepted(by: [ServerInterceptorTests.Recording(name: "a", log: log)])
        let sink = BufferingSink()
        try await wrapped.handler(.completed([[1], [2]]), ResponseWriter(sink: sink, encode: { $0 }),
                                  S.context(wrapped.path, kind: wrapped.kind))
        XCTAssertEqual(sink.drain(), [[1], [2]])
        XCTAssertEqual(log.all.first, "a in Raw")
        XCTAssertEqual(log.all.filter { $0 == "handler" }.count, 1)
        XCTAssertEqual(log.all.last, "a out")
    }

    func testAnInterceptorThatBindsToNoMethodLeavesItUnwrapped() async throws {
        let log = ServerInterceptorTests.Log()
        let wrapped = Self.untyped(log).intercepted(by: [ServerInterceptorTests.Recording(name: "a", log: log, skip: "Raw")])
        let sink = BufferingSink()
        try await wrapped.handler(.completed([[3]]), ResponseWriter(sink: sink, encode: { $0 }), S.context(wrapped.path))
        XCTAssertEqual(sink.drain(), [[3]])
        XCTAssertEqual(log.all, ["handler"])
    }
}
