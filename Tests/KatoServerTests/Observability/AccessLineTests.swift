import XCTest

@testable import KatoServer

/// The access-log line's `duration_ms` field, written digit by digit.
final class AccessLineTests: XCTestCase {
    func milliseconds(_ nanoseconds: Int64) -> String {
        var bytes: [UInt8] = []
        TraceInterceptor.appendMilliseconds(nanoseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func testDurationIsMillisecondsWithThreeDecimals() {
        XCTAssertEqual(milliseconds(412_345), "0.412")
        XCTAssertEqual(milliseconds(0), "0.000")
        XCTAssertEqual(milliseconds(999), "0.000", "below a microsecond rounds down")
        XCTAssertEqual(milliseconds(1_005_000), "1.005")
        XCTAssertEqual(milliseconds(12_345_678_901), "12345.678")
    }

    func testNegativeDurationIsZero() {
        XCTAssertEqual(milliseconds(-5), "0.000")
    }
}
