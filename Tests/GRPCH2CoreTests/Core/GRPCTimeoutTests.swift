import Foundation
import XCTest

@testable import GRPCH2Core

final class GRPCTimeoutTests: XCTestCase {
    func testGRPCTimeoutParsesEveryUnit() {
        XCTAssertEqual(GRPCTimeout.parse("2H"), .seconds(7200))
        XCTAssertEqual(GRPCTimeout.parse("3M"), .seconds(180))
        XCTAssertEqual(GRPCTimeout.parse("5S"), .seconds(5))
        XCTAssertEqual(GRPCTimeout.parse("250m"), .milliseconds(250))
        XCTAssertEqual(GRPCTimeout.parse("7u"), .microseconds(7))
        XCTAssertEqual(GRPCTimeout.parse("99999999n"), .nanoseconds(99_999_999))
    }

    func testGRPCTimeoutRejectsMalformedValues() {
        for bad in ["", "S", "10", "1x", "123456789S", "-1S", "1.5S", " 1S"] {
            XCTAssertNil(GRPCTimeout.parse(bad), bad)
        }
    }

    func testGRPCTimeoutFormatNeverShortensAndFitsEightDigits() {
        XCTAssertEqual(GRPCTimeout.format(.milliseconds(1500)), "1500000u")
        XCTAssertEqual(GRPCTimeout.format(.nanoseconds(5)), "5n")
        XCTAssertEqual(GRPCTimeout.format(.seconds(86400 * 365)), "31536000S")
        XCTAssertEqual(GRPCTimeout.format(.seconds(86400 * 3650)), "5256000M")
        let formatted = GRPCTimeout.format(.nanoseconds(123_456_789_123))
        XCTAssertGreaterThanOrEqual(GRPCTimeout.parse(formatted)!, .nanoseconds(123_456_789_123))
    }
}
