import GRPCH2
import ProtobufCBridge
import XCTest

@testable import KatoServer

final class StatusCodePrometheusTests: XCTestCase {
    func testCodesAreSpelledAsGoGRPCPrometheusDoes() {
        XCTAssertEqual(StatusCode.ok.prometheusName, "OK")
        XCTAssertEqual(StatusCode.cancelled.prometheusName, "Canceled")
        XCTAssertEqual(StatusCode.notFound.prometheusName, "NotFound")
        XCTAssertEqual(StatusCode.deadlineExceeded.prometheusName, "DeadlineExceeded")
        XCTAssertEqual(StatusCode.resourceExhausted.prometheusName, "ResourceExhausted")
        XCTAssertEqual(StatusCode.internalError.prometheusName, "Internal")
        XCTAssertEqual(StatusCode.unauthenticated.prometheusName, "Unauthenticated")
        XCTAssertEqual(StatusCode(rawValue: 42).prometheusName, "Code(42)")
    }

    func testCallKindsAreSpelledAsGRPCType() {
        XCTAssertEqual(CallKind.unary.prometheusName, "unary")
        XCTAssertEqual(CallKind.clientStreaming.prometheusName, "client_stream")
        XCTAssertEqual(CallKind.serverStreaming.prometheusName, "server_stream")
        XCTAssertEqual(CallKind.bidirectionalStreaming.prometheusName, "bidi_stream")
    }

    func testRateLimitErrorsCarryRetryInfoAndPushback() throws {
        let error = KatoError.rateLimited(scope: "session", retryAfter: .milliseconds(1500)).rpcError(traceID: "t")
        XCTAssertEqual(error.code, .resourceExhausted)
        XCTAssertEqual(error.trailingMetadata.firstString(forKey: "grpc-retry-pushback-ms"), "1500")
        let status = try XCTUnwrap(error.status)
        XCTAssertEqual(status.details.map(\.typeURL), [
            "type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.RetryInfo",
        ])
    }
}
