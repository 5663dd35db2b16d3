import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// Typed handlers decode each request before the handler runs and encode each response after;
/// a request that does not decode ends the call with INTERNAL and never reaches the handler.
final class TypedHandlersTests: XCTestCase {
    typealias S = CoreTestSupport
    static let unary = MethodDescriptor<S.Text, S.Text>(path: "/test.Typed/Unary", kind: .unary)
    static let split = MethodDescriptor<S.Text, S.Text>(path: "/test.Typed/Split", kind: .serverStreaming)
    static let count = MethodDescriptor<S.Text, S.Text>(path: "/test.Typed/Count", kind: .clientStreaming)
    static let echo = MethodDescriptor<S.Text, S.Text>(path: "/test.Typed/Echo", kind: .bidirectionalStreaming)
    /// Not a StringValue: field 1 with the varint wire type.
    static let undecodable: [UInt8] = [0x08, 0x01]

    final class Reached: Sendable {
        let calls = ServerInterceptorTests.Log()
    }

    static func transport(_ reached: Reached) -> InProcessTransport {
        var router = ServiceRouter()
        router.register(.unary(unary) { request, _ in
            reached.calls.append("unary")
            return S.text("<\(request.value)>")
        })
        router.register(.serverStreaming(split) { request, writer, _ in
            reached.calls.append("split")
            for word in request.value.split(separator: " ") { try await writer.write(S.text(String(word))) }
        })
        router.register(.clientStreaming(count) { requests, _ in
            reached.calls.append("count")
            var n = 0
            for try await _ in requests { n += 1 }
            return S.text("\(n)")
        })
        router.register(.bidirectionalStreaming(echo) { requests, writer, _ in
            reached.calls.append("echo")
            for try await request in requests { try await writer.write(S.text(request.value + "!")) }
        })
        return InProcessTransport(router: router)
    }

    func testEachKindDecodesItsRequestsAndEncodesItsResponses() async throws {
        let transport = Self.transport(Reached())
        let unary = await transport.call(path: Self.unary.path, requests: [S.bytes("a")])
        XCTAssertEqual(try S.values(unary.messages), ["<a>"])
        let split = await transport.call(path: Self.split.path, requests: [S.bytes("one two three")])
        XCTAssertEqual(try S.values(split.messages), ["one", "two", "three"])
        let count = await transport.call(path: Self.count.path, requests: ["a", "b"].map(S.bytes))
        XCTAssertEqual(try S.values(count.messages), ["2"])
        let echo = await transport.call(path: Self.echo.path, requests: ["a", "b"].map(S.bytes))
        XCTAssertEqual(try S.values(echo.messages), ["a!", "b!"])
        for response in [unary, split, count, echo] { XCTAssertEqual(response.code, .ok) }
    }

    func testAnUndecodableUnaryRequestIsInternalAndNeverReachesTheHandler() async {
        let reached = Reached()
        let response = await Self.transport(reached).call(path: Self.unary.path, requests: [Self.undecodable])
        XCTAssertEqual(response.code, .internalError)
        XCTAssertTrue(response.status?.message.hasPrefix("cannot decode request") ?? false, "\(String(describing: response.status))")
        XCTAssertEqual(reached.calls.all, [])
    }

    func testAnUndecodableStreamedRequestIsInternal() async throws {
        let transport = Self.transport(Reached())
        let split = await transport.call(path: Self.split.path, requests: [Self.undecodable])
        XCTAssertEqual(split.code, .internalError)
        let echo = await transport.call(path: Self.echo.path, requests: [S.bytes("fine"), Self.undecodable])
        XCTAssertEqual(echo.code, .internalError)
        XCTAssertEqual(try S.values(echo.messages), ["fine!"], "what was answered before the bad message stays sent")
    }

    func testAServerStreamingCallWithoutItsRequestIsInternal() async {
        let response = await Self.transport(Reached()).call(path: Self.split.path, requests: [])
        XCTAssertEqual(response.code, .internalError)
        XCTAssertEqual(response.status?.message, "no request message")
    }

    func testDecodeRequestDecodesAsTypedMethodsDo() throws {
        XCTAssertEqual(try ServerMethod.decodeRequest(S.bytes("v"), as: S.Text.self).value, "v")
        XCTAssertThrowsError(try ServerMethod.decodeRequest(Self.undecodable, as: S.Text.self)) { error in
            XCTAssertEqual((error as? RPCError)?.code, .internalError)
        }
    }
}
