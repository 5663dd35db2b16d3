import GRPCH2Core
import KatoEngine
import ProtobufCBridge
import XCTest

@testable import KatoServer

/// kato's errors become gRPC statuses in one place: each case's code and ErrorInfo reason, the
/// call's trace id in ErrorInfo, BadRequest for invalid fields, RetryInfo and
/// `grpc-retry-pushback-ms` when the client should wait; engine errors map onto them.
final class KatoErrorTests: XCTestCase {
    func testErrorsMapToStatusesWithErrorInfoAndBadRequest() {
        let error = KatoError.validation([.init(field: "config.persistence", description: "must be 1...100")]).rpcError(traceID: "abc")
        XCTAssertEqual(error.code, .invalidArgument)
        let status = error.status
        XCTAssertEqual(status?.details.count, 2)
        let info = status?.details.first?.unpack(Google_Rpc_ErrorInfo.self)
        XCTAssertEqual(info?.reason, "VALIDATION_ERROR")
        XCTAssertEqual(info?.metadata["trace_id"], "abc")
        XCTAssertEqual(status?.details.last?.unpack(Google_Rpc_BadRequest.self)?.fieldViolations.first?.field, "config.persistence")
    }

    func testEachCaseHasItsStatusCodeAndReason() {
        let cases: [(KatoError, StatusCode, String)] = [
            (.sessionNotFound("s"), .notFound, "SESSION_NOT_FOUND"),
            (.sessionExpired("s"), .notFound, "SESSION_EXPIRED"),
            (.patternNotFound("p"), .notFound, "PATTERN_NOT_FOUND"),
            (.sessionEnded("s"), .notFound, "SESSION_ENDED"),
            (.invalid("f", "bad"), .invalidArgument, "VALIDATION_ERROR"),
            (.emptySTM, .failedPrecondition, "EMPTY_STM"),
            (.failedPrecondition(reason: "NO_STORE", message: "m"), .failedPrecondition, "NO_STORE"),
            (.tooManySessions(limit: 3), .resourceExhausted, "SESSION_LIMIT"),
            (.deadlineExceeded, .deadlineExceeded, "DEADLINE_EXCEEDED"),
            (.cancelled, .cancelled, "CANCELLED"),
            (.unavailable(reason: "STORE_DOWN", message: "m"), .unavailable, "STORE_DOWN"),
            (.unauthenticated(reason: "NO_KEY", message: "m"), .unauthenticated, "NO_KEY"),
            (.permissionDenied(reason: "ROLE", message: "m"), .permissionDenied, "ROLE"),
            (.rateLimited(scope: "principal", retryAfter: .seconds(1)), .resourceExhausted, "RATE_LIMITED"),
            (.overloaded(limit: 10, retryAfter: .milliseconds(100)), .resourceExhausted, "CONCURRENCY_LIMIT"),
            (.featureDisabled(flag: "predictions", message: "m"), .unimplemented, "FEATURE_DISABLED"),
        ]
        for (error, code, reason) in cases {
            let status = error.rpcError(traceID: "t")
            XCTAssertEqual(status.code, code, "\(error)")
            XCTAssertEqual(status.status?.details.first?.unpack(Google_Rpc_ErrorInfo.self)?.reason, reason, "\(error)")
            XCTAssertEqual(status.status?.details.first?.unpack(Google_Rpc_ErrorInfo.self)?.domain, "kato.v2")
        }
    }

    func testARateLimitTellsTheClientWhenToRetryRoundedUpToTheMillisecond() throws {
        let status = KatoError.rateLimited(scope: "session", retryAfter: .microseconds(1_500)).rpcError(traceID: "t")
        XCTAssertEqual(status.message, "rate limit exceeded (session); retry in 2 ms")
        XCTAssertEqual(status.trailingMetadata.firstString(forKey: "grpc-retry-pushback-ms"), "2")
        let details = try XCTUnwrap(status.status?.details)
        XCTAssertEqual(details.first?.unpack(Google_Rpc_ErrorInfo.self)?.metadata["scope"], "session")
        let retry = try XCTUnwrap(details.last?.unpack(Google_Rpc_RetryInfo.self))
        XCTAssertEqual(retry.retryDelay?.seconds, 0)
        XCTAssertEqual(retry.retryDelay?.nanos, 1_500_000)
    }

    func testOnlyWaitingErrorsCarryRetryInformation() {
        for error in [KatoError.sessionNotFound("s"), .emptySTM, .featureDisabled(flag: "f", message: "m")] {
            let status = error.rpcError(traceID: "t")
            XCTAssertNil(status.trailingMetadata.firstString(forKey: "grpc-retry-pushback-ms"), "\(error)")
            XCTAssertEqual(status.status?.details.count, 1, "ErrorInfo only: \(error)")
        }
        let disabled = KatoError.featureDisabled(flag: "predictions", message: "off").rpcError(traceID: "t")
        XCTAssertEqual(disabled.status?.details.first?.unpack(Google_Rpc_ErrorInfo.self)?.metadata["feature"], "predictions")
    }

    func testOutsideACallTheStatusHasAnEmptyTraceID() {
        let status = KatoError.emptySTM.rpcError
        XCTAssertEqual(status.status?.details.first?.unpack(Google_Rpc_ErrorInfo.self)?.metadata["trace_id"], "")
        XCTAssertEqual(status.message, "cannot learn from an empty short-term memory")
    }

    func testEngineAndTaskErrorsMapOntoKatoErrors() {
        XCTAssertEqual(KatoError.from(EngineValidationError(field: "strings", reason: "too many")), .invalid("strings", "too many"))
        XCTAssertEqual(KatoError.from(CancellationError()), .cancelled)
        XCTAssertEqual(KatoError.from(KatoError.emptySTM), .emptySTM)
        XCTAssertNil(KatoError.from(RPCError(code: .internalError, message: "x")), "not kato's: left to the generic mapping")
    }
}
