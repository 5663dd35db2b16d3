import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// A chain as one `ComposedInterceptor` value: the same calls, in the same order, as the router's
/// interceptor list, whether the typed method was declared with the chain's type (specialized
/// path) or not (through the protocol); optional members that are nil pass calls through.
final class ComposedInterceptorTests: XCTestCase {
    typealias Recording = ServerInterceptorTests.Recording
    typealias Log = ServerInterceptorTests.Log
    typealias Chain = ComposedInterceptor<Recording, ComposedInterceptor<Recording?, Recording?>>
    static let echo = ServerInterceptorTests.echo

    static func handler(_ log: Log) -> @Sendable (Google_Protobuf_StringValue, ServerContext) async throws -> Google_Protobuf_StringValue {
        { request, _ in
            log.append("handler")
            if request.value == "fail" { throw RPCError(code: .failedPrecondition, message: "no") }
            return request
        }
    }

    /// A router with `chain` as its one interceptor around the echo method, declared with the
    /// chain's type (`specialized`) or without.
    static func router(_ chain: Chain, _ log: Log, specialized: Bool) -> ServiceRouter {
        var router = ServiceRouter()
        router.register(specialized
            ? .unary(echo, interceptedBy: Chain.self, handler: handler(log))
            : .unary(echo, handler: handler(log)))
        router.addInterceptor(chain)
        return router
    }

    func testTheSpecializedAndTheProtocolPathRunTheSameCallsInTheSameOrder() async throws {
        for specialized in [true, false] {
            let log = Log()
            let chain = Chain(Recording(name: "a", log: log), ComposedInterceptor(Recording(name: "b", log: log), nil))
            let written = try await ServerInterceptorTests.call(Self.router(chain, log, specialized: specialized), Self.echo, ["x"])
            XCTAssertEqual(written, ["x"])
            XCTAssertEqual(log.all, ["a in Unary", "b in Unary", "a received", "b received", "handler", "a sent", "b sent", "b out", "a out"],
                           "specialized: \(specialized)")
        }
    }

    func testAFailureTravelsOutThroughEveryMemberOnTheSpecializedPath() async throws {
        let log = Log()
        let chain = Chain(Recording(name: "a", log: log), ComposedInterceptor(nil, Recording(name: "c", log: log)))
        do {
            _ = try await ServerInterceptorTests.call(Self.router(chain, log, specialized: true), Self.echo, ["fail"])
            XCTFail("the handler's error must reach the caller")
        } catch {
            XCTAssertEqual(RPCError(mapping: error).code, .failedPrecondition)
        }
        XCTAssertEqual(Array(log.all.suffix(2)), ["c out: FAILED_PRECONDITION", "a out: FAILED_PRECONDITION"])
    }

    func testAMemberThatDoesNotBindToTheMethodStaysOutOfItsCalls() async throws {
        let log = Log()
        let chain = Chain(Recording(name: "a", log: log), ComposedInterceptor(Recording(name: "b", log: log, skip: "Unary"), nil))
        _ = try await ServerInterceptorTests.call(Self.router(chain, log, specialized: true), Self.echo, ["x"])
        XCTAssertEqual(log.all, ["a in Unary", "a received", "handler", "a sent", "a out"])
    }

    func testMembersListThePresentInterceptorsOutermostFirst() {
        let log = Log()
        let chain = Chain(Recording(name: "a", log: log), ComposedInterceptor(nil, Recording(name: "c", log: log)))
        XCTAssertEqual(chain.members.compactMap { ($0 as? Recording)?.name }, ["a", "c"])
        XCTAssertNil(chain.inner.bound(to: ServerMethod.Info(path: "/test.Echo/Unary", kind: .unary)).flatMap { $0.outer },
                     "a nil member stays nil once bound")
    }

    /// Binds to the method by recording its name; unbound, the protocol's default binds per call.
    struct PerMethod: MethodBoundInterceptor {
        let log: Log
        struct Bound: ServerInterceptor {
            let log: Log
            let method: String
            func intercept<Request: Sendable, Response: Sendable>(
                request: Request, context: ServerContext, next: InterceptorNext<Request, Response>
            ) async throws -> Response {
                log.append("bound to \(method)")
                return try await next(request, context)
            }
        }
        func bound(to method: ServerMethod.Info) -> Bound? {
            method.methodName == "Skipped" ? nil : Bound(log: log, method: String(method.methodName))
        }
    }

    func testAMethodBoundInterceptorCalledUnboundBindsToTheCallsMethod() async throws {
        let log = Log()
        let interceptor = PerMethod(log: log)
        let bound = ServerContext(path: "/test.Echo/Unary", requestMetadata: Metadata(), deadline: nil, peer: "test")
        let skipped = ServerContext(path: "/test.Echo/Skipped", requestMetadata: Metadata(), deadline: nil, peer: "test")
        let one = try await interceptor.intercept(request: 1, context: bound) { request, _ in request + 1 }
        let two = try await interceptor.intercept(request: 2, context: skipped) { request, _ in request + 1 }
        XCTAssertEqual([one, two], [2, 3])
        XCTAssertEqual(log.all, ["bound to Unary"], "a method it does not bind to is passed through")
    }
}
