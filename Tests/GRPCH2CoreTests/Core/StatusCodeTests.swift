import XCTest

@testable import GRPCH2Core

/// Status codes as gRPC numbers and names them; a value this build does not know survives.
final class StatusCodeTests: XCTestCase {
    func testEveryCanonicalCodeHasItsWireNumberAndUpperSnakeName() {
        let expected: [(StatusCode, Int, String)] = [
            (.ok, 0, "OK"), (.cancelled, 1, "CANCELLED"), (.unknown, 2, "UNKNOWN"),
            (.invalidArgument, 3, "INVALID_ARGUMENT"), (.deadlineExceeded, 4, "DEADLINE_EXCEEDED"),
            (.notFound, 5, "NOT_FOUND"), (.alreadyExists, 6, "ALREADY_EXISTS"),
            (.permissionDenied, 7, "PERMISSION_DENIED"), (.resourceExhausted, 8, "RESOURCE_EXHAUSTED"),
            (.failedPrecondition, 9, "FAILED_PRECONDITION"), (.aborted, 10, "ABORTED"),
            (.outOfRange, 11, "OUT_OF_RANGE"), (.unimplemented, 12, "UNIMPLEMENTED"),
            (.internalError, 13, "INTERNAL"), (.unavailable, 14, "UNAVAILABLE"), (.dataLoss, 15, "DATA_LOSS"),
            (.unauthenticated, 16, "UNAUTHENTICATED"),
        ]
        for (code, number, name) in expected {
            XCTAssertEqual(code.rawValue, number, name)
            XCTAssertEqual(code.name, name)
            XCTAssertEqual(code.description, name)
            XCTAssertEqual(StatusCode(rawValue: number), code)
        }
    }

    func testAnUnknownWireValueKeepsItsNumberAndGetsANameThatSaysSo() {
        let code = StatusCode(rawValue: 42)
        XCTAssertEqual(code.rawValue, 42)
        XCTAssertEqual(code.name, "CODE_42")
        XCTAssertNotEqual(code, .unknown)
        XCTAssertEqual(StatusCode(rawValue: -1).name, "CODE_-1")
    }
}
