import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// Staged interceptors (`StagedInterceptor`) composed with `ComposedStages`: the same calls in
/// the same order as the nested chain of their derived `intercept`s — on the router's
/// specialized path, through the protocol and unbound — including a refusal by an inner stage,
/// a stage that suspends before the call, a stage that maps the error, and one that binds
/// something around the call.
final class ComposedStagesTests: XCTestCase {
    typealias Log = ServerInterceptorTests.Log
    typealias Chain = ComposedStages<Stage, ComposedStages<Stage?, Stage?>>
    static let echo = ServerInterceptorTests.echo

    @TaskLocal static var binding: String?

    /// Logs its steps. `refuse`: throws PERMISSION_DENIED in `before`; `suspend`: finishes
    /// `before` asynchronously; `maps`: turns a failure into ABORTED; `binds`: runs the call
    /// with `binding` set to its name.
    struct Stage: StagedInterceptor {
        let name: String
        let log: Log
        var method = ""
        var skip: String? = nil
        var refuse = false
        var suspend = false
        var maps = false
        var binds = false

        func bound(to method: ServerMethod.Info) -> Stage? {
            if String(method.methodName) == skip { return nil }
            var copy = self
            copy.method = String(method.methodName)
            return copy
        }

        func before(_ context: inout ServerContext) throws -> InterceptorStep<String> {
            if refuse {
                log.append("\(name) refuses")
                throw RPCError(code: .permissionDenied, message: "no")
            }
            if suspend {
                let (name, log) = (name, log)
                return .suspend { context in
                    await Task.yield()
                    log.append("\(name) in \(context.methodName) (suspended)")
                    return name
                }
            }
            log.append("\(name) in \(method)")
            return .proceed(name)
        }

        func succeeded(_ token: String, context: ServerContext) {
            log.append("\(token) out")
        }

        func failed(_ token: String, context: ServerContext, error: any Error) -> any Error {
            log.append("\(token) out: \(RPCError(mapping: error).code.name)")
            return maps ? RPCError(code: .aborted, message: "mapped by \(name)") : error
        }

        func bindsAround(_ token: String) -> Bool { binds }

        nonisolated(nonsending) func around<R>(_ token: String, _ body: nonisolated(nonsending) () async throws -> R) async throws -> R {
            try await ComposedStagesTests.$binding.withValue(token) { try await body() }
        }
    }

    static func router(_ chain: Chain, _ log: Log, specialized: Bool) -> ServiceRouter {
        var router = ServiceRouter()
        let handler: @Sendable (Google_Protobuf_StringValue, ServerContext) async throws -> Google_Protobuf_StringValue = { request, _ in
            log.append("handler" + (ComposedStagesTests.binding.map { " in \($0)" } ?? ""))
            if request.value == "fail" { throw RPCError(code: .failedPrecondition, message: "no") }
            return request
        }
        router.register(specialized ? .unary(echo, interceptedBy: Chain.self, handler: handler) : .unary(echo, handler: handler))
        router.addInterceptor(chain)
        return router
    }

    func call(_ chain: Chain, _ log: Log, _ message: String, specialized: Bool = true) async -> (written: [String], code: StatusCode) {
        do {
            let written = try await ServerInterceptorTests.call(Self.router(chain, log, specialized: specialized), Self.echo, [message])
            return (written, .ok)
        } catch {
            return ([], RPCError(mapping: error).code)
        }
    }

    func testStagesRunBeforeOutermostFirstAndAfterInnermostFirstOnEveryPath() async throws {
        for specialized in [true, false] {
            let log = Log()
            let chain = Chain(Stage(name: "a", log: log), ComposedStages(Stage(name: "b", log: log), Stage(name: "c", log: log)))
            let (written, code) = await call(chain, log, "x", specialized: specialized)
            XCTAssertEqual(written, ["x"])
            XCTAssertEqual(code, .ok)
            XCTAssertEqual(log.all, ["a in Unary", "b in Unary", "c in Unary", "handler", "c out", "b out", "a out"], "specialized: \(specialized)")
        }
    }

    func testAFailureReachesEveryStageInnermostFirst() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log), ComposedStages(nil, Stage(name: "c", log: log)))
        let (_, code) = await call(chain, log, "fail")
        XCTAssertEqual(code, .failedPrecondition)
        XCTAssertEqual(log.all, ["a in Unary", "c in Unary", "handler", "c out: FAILED_PRECONDITION", "a out: FAILED_PRECONDITION"])
    }

    func testAStageThatRefusesTheCallIsNotAskedAfterItButTheStagesOutsideSeeItFail() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log), ComposedStages(Stage(name: "b", log: log, refuse: true), Stage(name: "c", log: log)))
        let (_, code) = await call(chain, log, "x")
        XCTAssertEqual(code, .permissionDenied)
        XCTAssertEqual(log.all, ["a in Unary", "b refuses", "a out: PERMISSION_DENIED"])
    }

    func testAnOuterStageMapsTheErrorTheInnerOnesSaw() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log, maps: true), ComposedStages(Stage(name: "b", log: log), nil))
        let (_, code) = await call(chain, log, "fail")
        XCTAssertEqual(code, .aborted, "the outermost stage's mapping is the call's status")
        XCTAssertEqual(Array(log.all.suffix(2)), ["b out: FAILED_PRECONDITION", "a out: FAILED_PRECONDITION"])
    }

    func testAStageThatSuspendsFinishesBeforeTheStagesInsideIt() async {
        for suspending in ["a", "b", "c"] {
            let log = Log()
            let chain = Chain(
                Stage(name: "a", log: log, method: "Unary", suspend: suspending == "a"),
                ComposedStages(Stage(name: "b", log: log, suspend: suspending == "b"), Stage(name: "c", log: log, suspend: suspending == "c")))
            let (written, _) = await call(chain, log, "x")
            XCTAssertEqual(written, ["x"])
            let expected = ["a", "b", "c"].map { $0 == suspending ? "\($0) in Unary (suspended)" : "\($0) in Unary" }
            XCTAssertEqual(log.all, expected + ["handler", "c out", "b out", "a out"], "suspending: \(suspending)")
        }
    }

    func testAnInnerStageRefusingAfterAnOuterOneSuspendedStillReachesTheOuterOne() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log, suspend: true), ComposedStages(Stage(name: "b", log: log, refuse: true), nil))
        let (_, code) = await call(chain, log, "x")
        XCTAssertEqual(code, .permissionDenied)
        XCTAssertEqual(log.all, ["a in Unary (suspended)", "b refuses", "a out: PERMISSION_DENIED"])
    }

    func testAStageThatBindsRunsTheCallInsideItsBindingAndTheOthersDoNotPay() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log), ComposedStages(Stage(name: "b", log: log, binds: true), nil))
        _ = await call(chain, log, "x")
        XCTAssertTrue(log.all.contains("handler in b"), "\(log.all)")
        let plain = Log()
        _ = await call(Chain(Stage(name: "a", log: plain), ComposedStages(nil, nil)), plain, "x")
        XCTAssertTrue(plain.all.contains("handler"))
    }

    func testAMemberThatDoesNotBindStaysOutAndAnAllNilChainStaysOutOfTheMethod() async {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log), ComposedStages(Stage(name: "b", log: log, skip: "Unary"), nil))
        _ = await call(chain, log, "x")
        XCTAssertEqual(log.all, ["a in Unary", "handler", "a out"])
        let info = ServerMethod.Info(path: "/test.Echo/Unary", kind: .unary)
        XCTAssertNil(ComposedStages<Stage?, Stage?>(nil, nil).bound(to: info))
        XCTAssertEqual(chain.members.compactMap { ($0 as? Stage)?.name }, ["a", "b"])
    }

    func testCalledUnboundTheChainBindsToTheCallsMethod() async throws {
        let log = Log()
        let chain = Chain(Stage(name: "a", log: log), ComposedStages(Stage(name: "b", log: log, skip: "Skipped"), nil))
        let context = ServerContext(path: "/test.Echo/Skipped", requestMetadata: Metadata(), deadline: nil, peer: "test")
        let result = try await chain.intercept(request: 1, context: context) { request, _ in request + 1 }
        XCTAssertEqual(result, 2)
        XCTAssertEqual(log.all, ["a in Skipped", "a out"])
    }
}
