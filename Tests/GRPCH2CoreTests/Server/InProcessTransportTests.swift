import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// The in-process transport runs a router's methods as the network path does, and reports each
/// call as a client would see it: messages, status, initial and trailing metadata.
final class InProcessTransportTests: XCTestCase {
    typealias S = CoreTestSupport
    static let unary = MethodDescriptor<S.Text, S.Text>(path: "/test.Echo/Unary", kind: .unary)
    static let serverStream = MethodDescriptor<S.Text, S.Text>(path: "/test.Echo/Split", kind: .serverStreaming)
    static let clientStream = MethodDescriptor<S.Text, S.Text>(path: "/test.Echo/Join", kind: .clientStreaming)
    static let slow = MethodDescriptor<S.Text, S.Text>(path: "/test.Echo/Slow", kind: .unary)

    struct Refusal: RPCErrorConvertible {
        var rpcError: RPCError { RPCError(code: .internalError, message: "without a context") }
        func rpcError(in context: ServerContext) -> RPCError {
            RPCError(code: .permissionDenied, message: "refused \(context.methodName)")
        }
    }

    struct Secret: Error { let password = "hunter2" }

    static let transport: InProcessTransport = {
        var router = ServiceRouter()
        router.register(.unary(unary) { request, context in
            context.addInitialMetadata(Metadata([("x-initial", "1")]))
            context.addTrailingMetadata("2", forKey: "x-trailing")
            switch request.value {
            case "fail": throw RPCError(code: .failedPrecondition, message: "no", trailingMetadata: Metadata([("x-why", "because")]))
            case "refuse": throw Refusal()
            case "crash": throw Secret()
            default: return S.text(request.value.uppercased())
            }
        })
        router.register(.serverStreaming(serverStream) { request, writer, _ in
            for character in request.value { try await writer.write(S.text(String(character))) }
        })
        router.register(.clientStreaming(clientStream) { requests, _ in
            var joined = ""
            for try await request in requests { joined += request.value }
            return S.text(joined)
        })
        router.register(.unary(slow) { request, _ in
            // Runs on for a while after its cancellation (a sleep in a detached task: the handler's
            // own Task.sleep would end at once once cancelled), so the call must not wait for it.
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            try? await Task.detached { try await Task.sleep(for: .milliseconds(300)) }.value
            return request
        })
        return InProcessTransport(router: router)
    }()

    func testAUnaryCallReturnsTheHandlersResponseAndItsMetadata() async throws {
        let response = await Self.transport.call(path: Self.unary.path, requests: [S.bytes("abc")])
        XCTAssertEqual(response.code, .ok)
        XCTAssertEqual(try S.values(response.messages), ["ABC"])
        XCTAssertEqual(response.initialMetadata.firstString(forKey: "x-initial"), "1")
        XCTAssertEqual(response.trailingMetadata.firstString(forKey: "x-trailing"), "2")
    }

    func testAnRPCErrorBecomesTheStatusWithItsTrailersAfterTheHandlers() async throws {
        let response = await Self.transport.call(path: Self.unary.path, requests: [S.bytes("fail")])
        XCTAssertEqual(response.code, .failedPrecondition)
        XCTAssertEqual(response.status?.message, "no")
        XCTAssertTrue(response.messages.isEmpty)
        XCTAssertEqual(response.trailingMetadata.map(\.key), ["x-trailing", "x-why"])
    }

    func testAConvertibleErrorIsMappedWithTheCallsContextAtTheEdge() async {
        let response = await Self.transport.call(path: Self.unary.path, requests: [S.bytes("refuse")])
        XCTAssertEqual(response.code, .permissionDenied)
        XCTAssertEqual(response.status?.message, "refused Unary")
    }

    func testAnyOtherErrorIsUnknownNamingOnlyItsType() async {
        let response = await Self.transport.call(path: Self.unary.path, requests: [S.bytes("crash")])
        XCTAssertEqual(response.code, .unknown)
        XCTAssertEqual(response.status?.message, "handler failed: Secret")
    }

    func testAnUnknownPathIsUnimplemented() async {
        let response = await Self.transport.call(path: "/test.Echo/Nope", requests: [S.bytes("x")])
        XCTAssertEqual(response.code, .unimplemented)
        XCTAssertEqual(response.status?.message, "Method not found: /test.Echo/Nope")
    }

    func testServerStreamingDeliversEveryMessageInOrder() async throws {
        let response = await Self.transport.call(path: Self.serverStream.path, requests: [S.bytes("abc")])
        XCTAssertEqual(response.code, .ok)
        XCTAssertEqual(try S.values(response.messages), ["a", "b", "c"])
    }

    func testClientStreamingReadsEveryRequestBeforeItsOneResponse() async throws {
        let response = await Self.transport.call(path: Self.clientStream.path, requests: ["x", "y", "z"].map(S.bytes))
        XCTAssertEqual(try S.values(response.messages), ["xyz"])
        let none = await Self.transport.call(path: Self.clientStream.path, requests: [])
        XCTAssertEqual(try S.values(none.messages), [""], "no request: the empty join")
    }

    func testTheDeadlineEndsASlowCallWithDeadlineExceeded() async {
        let started = ContinuousClock.now
        let response = await Self.transport.call(path: Self.slow.path, requests: [S.bytes("x")], timeout: .milliseconds(50))
        XCTAssertEqual(response.code, .deadlineExceeded)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20), "the call must not wait for the handler")
    }

    func testTheRequestMetadataAndPeerReachTheHandlersContext() async throws {
        let seen = MethodDescriptor<S.Text, S.Text>(path: "/test.Echo/Seen", kind: .unary)
        var router = ServiceRouter()
        router.register(.unary(seen) { _, context in
            S.text("\(context.peer) \(context.requestMetadata.firstString(forKey: "x-key") ?? "-") \(context.timeRemaining != nil)")
        })
        let response = await InProcessTransport(router: router).call(
            path: seen.path, requests: [S.bytes("")], metadata: Metadata([("x-key", "v")]), peer: "ipv4:10.0.0.1:5")
        XCTAssertEqual(try S.values(response.messages), ["ipv4:10.0.0.1:5 v false"])
    }
}
