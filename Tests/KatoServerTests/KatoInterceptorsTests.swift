import GRPCH2
import KatoProto
import Logging
import XCTest

@testable import KatoServer

/// kato's interceptors in GRPCH2Core's one chain: trace (the edge), metrics, auth, rate
/// limits, degradation, outermost first; what each sees of the ones outside it.
final class KatoInterceptorsTests: XCTestCase {
    func testTheChainIsTraceMetricsAuthRateLimitsOutermostFirst() async throws {
        var c = KatoServerApp.Configuration()
        var auth = Authenticator.Configuration()
        c.authenticator = try await Authenticator.load(auth)
        let chain = KatoServerApp.interceptors(c, services: [], degradation: nil, logger: Logger(label: "test"))
        XCTAssertEqual(chain.members.map { "\(type(of: $0))" }, ["TraceInterceptor", "GRPCMetricsInterceptor", "AuthInterceptor", "RateLimitInterceptor"])
        c.authenticator = nil
        c.grpcMetrics = false
        c.rateLimits = .unlimited
        XCTAssertEqual(KatoServerApp.interceptors(c, services: [], degradation: nil, logger: Logger(label: "test")).members.map { "\(type(of: $0))" },
                       ["TraceInterceptor"], "an interceptor that is off is not in the chain")
    }

    func testACallRefusedByAuthenticationStillHasItsTraceIDInTrailerAndStatus() async throws {
        let kato = try await InProcessKato.withKeys()
        var create = Kato_V2_CreateSessionRequest()
        create.nodeID = "n1"
        let (_, outcome) = await kato.unary(Kato_V2_SessionService.createSession, create)
        XCTAssertEqual(outcome.code, .unauthenticated)
        let trace = try XCTUnwrap(outcome.trailingMetadata.firstString(forKey: "x-trace-id"))
        XCTAssertEqual(outcome.errorInfo?.metadata["trace_id"], trace, "the trace interceptor is outside authentication")
    }

    func testRateLimitsRunAfterAuthenticationAndKeyOnItsPrincipal() async throws {
        let kato = try await InProcessKato.withKeys { c in
            c.rateLimits.perPrincipal = TokenBucket.Limit(rate: 0.001, burst: 2)
        }
        var count = Kato_V2_CountSessionsRequest()
        count.nodeID = "n1"
        for _ in 0..<2 { _ = try await kato.ok(Kato_V2_SessionService.countSessions, count, metadata: InProcessKato.key("writer")) }
        let (_, limited) = await kato.unary(Kato_V2_SessionService.countSessions, count, metadata: InProcessKato.key("writer"))
        XCTAssertEqual(limited.code, .resourceExhausted)
        XCTAssertEqual(limited.errorInfo?.reason, "RATE_LIMITED")
        XCTAssertEqual(limited.errorInfo?.metadata["scope"], "principal")
        XCTAssertEqual(limited.errorInfo?.metadata["trace_id"], limited.trailingMetadata.firstString(forKey: "x-trace-id"))
        XCTAssertNotNil(limited.trailingMetadata.firstString(forKey: "grpc-retry-pushback-ms"))
        // Another principal has its own bucket: the limiter knows who authenticated.
        _ = try await kato.ok(Kato_V2_SessionService.countSessions, count, metadata: InProcessKato.key("reader"))
        // A refused credential never reaches the buckets.
        let (_, refused) = await kato.unary(Kato_V2_SessionService.countSessions, count, metadata: Metadata([("x-api-key", "nope")]))
        XCTAssertEqual(refused.code, .unauthenticated)
    }

    func testTheConcurrencyLimitCountsOnlyCallsInFlight() async throws {
        let kato = try InProcessKato { c in c.rateLimits.maxConcurrentCalls = 1 }
        for _ in 0..<3 {
            _ = try await kato.ok(Kato_V2_SessionService.countSessions, Kato_V2_CountSessionsRequest())
        }
    }
}
