import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// The router maps `:path` to methods, lists services in registration order, and puts every
/// interceptor around every method whenever either was added.
final class ServiceRouterTests: XCTestCase {
    typealias S = CoreTestSupport

    struct Service: ServiceProvider {
        let serviceName: String
        let replies: String
        var methods: [ServerMethod] {
            let reply = replies
            return ["A", "B"].map { name in
                .unary(MethodDescriptor<S.Text, S.Text>(path: "/\(serviceName)/\(name)", kind: .unary)) { _, _ in S.text(reply + name) }
            }
        }
    }

    func call(_ router: ServiceRouter, _ path: String) async throws -> String {
        let response = await InProcessTransport(router: router).call(path: path, requests: [S.bytes("")])
        if let status = response.status { throw status }
        return try S.values(response.messages).joined()
    }

    func testEachRegisteredMethodIsFoundByItsPathAndOthersAreNot() async throws {
        var router = ServiceRouter()
        router.register(Service(serviceName: "test.One", replies: "1"))
        router.register(Service(serviceName: "test.Two", replies: "2"))
        XCTAssertEqual(router.serviceNames, ["test.One", "test.Two"])
        let one = try await call(router, "/test.One/B")
        let two = try await call(router, "/test.Two/A")
        XCTAssertEqual([one, two], ["1B", "2A"])
        XCTAssertNil(router.method(for: "/test.Three/A"))
        XCTAssertNil(router.method(for: "test.One/A"), "the path keeps its leading slash")
        XCTAssertEqual(router.method(for: "/test.One/A")?.kind, .unary)
    }

    func testRegisteringAPathAgainReplacesItsMethod() async throws {
        var router = ServiceRouter()
        router.register(Service(serviceName: "test.One", replies: "old"))
        router.register(Service(serviceName: "test.One", replies: "new"))
        let reply = try await call(router, "/test.One/A")
        XCTAssertEqual(reply, "newA")
    }

    func testAnInterceptorAddedAfterOrBeforeAMethodIsAroundItOnce() async throws {
        let log = ServerInterceptorTests.Log()
        var router = ServiceRouter()
        router.register(Service(serviceName: "test.Early", replies: ""))
        router.addInterceptor(ServerInterceptorTests.Recording(name: "x", log: log))
        router.register(Service(serviceName: "test.Late", replies: ""))
        XCTAssertEqual(router.interceptors.count, 1)
        _ = try await call(router, "/test.Early/A")
        _ = try await call(router, "/test.Late/B")
        XCTAssertEqual(log.all.filter { $0.hasPrefix("x in") }, ["x in A", "x in B"])
        XCTAssertEqual(log.all.filter { $0 == "x out" }.count, 2)
    }
}
