import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// grpc.health.v1 as the server runs it: Check answers the status set for a service
/// (NOT_FOUND for one never set), Watch streams each change, and shutdown turns every
/// service NOT_SERVING.
final class HealthServiceTests: XCTestCase {
    typealias Request = Grpc_Health_V1_HealthCheckRequest
    typealias Response = Grpc_Health_V1_HealthCheckResponse

    static func request(_ service: String) -> [UInt8] {
        var r = Request()
        r.service = service
        return r.serializedBytes()
    }

    static func transport(_ health: HealthService) -> InProcessTransport {
        var router = ServiceRouter()
        router.register(health)
        return InProcessTransport(router: router)
    }

    static func statuses(_ response: InProcessTransport.Response) throws -> [Response.ServingStatus] {
        try response.messages.map { try Response(serializedBytes: $0).status }
    }

    func testCheckAnswersTheStatusSetForTheServiceAndNotFoundForOthers() async throws {
        let health = HealthService()
        health.setStatus(.serving, forService: "")
        health.setStatus(.notServing, forService: "test.Down")
        let transport = Self.transport(health)
        let whole = await transport.call(path: "/grpc.health.v1.Health/Check", requests: [Self.request("")])
        let down = await transport.call(path: "/grpc.health.v1.Health/Check", requests: [Self.request("test.Down")])
        let unknown = await transport.call(path: "/grpc.health.v1.Health/Check", requests: [Self.request("test.Nope")])
        XCTAssertEqual(try Self.statuses(whole), [.serving])
        XCTAssertEqual(try Self.statuses(down), [.notServing])
        XCTAssertEqual(unknown.code, .notFound)
        XCTAssertEqual(unknown.status?.message, "unknown service 'test.Nope'")
        XCTAssertEqual(health.serviceName, "grpc.health.v1.Health")
    }

    func testShutdownTurnsEveryKnownServiceNotServingAndAddsNone() {
        let health = HealthService()
        health.setStatus(.serving, forService: "")
        health.setStatus(.serving, forService: "test.A")
        health.enterShutdown()
        XCTAssertEqual(health.status(forService: ""), .notServing)
        XCTAssertEqual(health.status(forService: "test.A"), .notServing)
        XCTAssertNil(health.status(forService: "test.B"))
    }

    /// Hands each written message to the test as it is written.
    struct StreamingSink: ResponseSink {
        let continuation: AsyncStream<[UInt8]>.Continuation
        func write(_ message: [UInt8]) async throws { continuation.yield(message) }
    }

    /// Starts a Watch of `service`; returns its messages as they come and the call's task.
    static func watch(_ health: HealthService, _ service: String) throws
        -> (AsyncStream<[UInt8]>.AsyncIterator, Task<Void, any Error>)
    {
        let method = try XCTUnwrap(health.methods.first { $0.path == "/grpc.health.v1.Health/Watch" })
        let (messages, continuation) = AsyncStream<[UInt8]>.makeStream()
        let task = Task {
            try await method.handler(
                .completed([request(service)]), ResponseWriter(sink: StreamingSink(continuation: continuation), encode: { $0 }),
                CoreTestSupport.context(method.path, kind: .serverStreaming))
        }
        return (messages.makeAsyncIterator(), task)
    }

    static func next(_ iterator: inout AsyncStream<[UInt8]>.AsyncIterator) async throws -> Response.ServingStatus? {
        guard let bytes = await iterator.next() else { return nil }
        return try Response(serializedBytes: bytes).status
    }

    func testWatchSendsTheCurrentStatusThenEachChangeOnce() async throws {
        let health = HealthService()
        health.setStatus(.serving, forService: "test.A")
        var (messages, task) = try Self.watch(health, "test.A")
        defer { task.cancel() }
        let first = try await Self.next(&messages)
        XCTAssertEqual(first, .serving, "the status when the watch starts")
        health.setStatus(.serving, forService: "test.A")  // no change: not sent again
        health.setStatus(.serving, forService: "test.B")  // another service: not this watch's
        health.setStatus(.notServing, forService: "test.A")
        let second = try await Self.next(&messages)
        XCTAssertEqual(second, .notServing)
    }

    func testWatchOfAnUnknownServiceSaysSoAndFollowsItsRegistration() async throws {
        let health = HealthService()
        var (messages, task) = try Self.watch(health, "test.Later")
        defer { task.cancel() }
        let first = try await Self.next(&messages)
        XCTAssertEqual(first, .serviceUnknown)
        health.setStatus(.serving, forService: "test.Later")
        let second = try await Self.next(&messages)
        XCTAssertEqual(second, .serving)
    }

    func testAWatchEndsWhenItsCallIsCancelled() async throws {
        let health = HealthService()
        var (messages, task) = try Self.watch(health, "")
        _ = try await Self.next(&messages)
        task.cancel()
        health.setStatus(.serving, forService: "")
        _ = try? await task.value  // returns: the watch does not outlive its call
    }
}
