import ProtoJSON
import XCTest

final class TimeFormatsTests: XCTestCase {
    func testTimestampsPrintWithZeroThreeSixOrNineFractionDigits() throws {
        XCTAssertEqual(try TimeFormats.formatTimestamp(seconds: 0, nanos: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(try TimeFormats.formatTimestamp(seconds: -1, nanos: 500_000_000), "1969-12-31T23:59:59.500Z")
        XCTAssertEqual(try TimeFormats.formatTimestamp(seconds: 253_402_300_799, nanos: 1000), "9999-12-31T23:59:59.000001Z")
        XCTAssertThrowsError(try TimeFormats.formatTimestamp(seconds: 253_402_300_800, nanos: 0))
    }

    func testTimestampParsingHandlesOffsetsAndLowercase() throws {
        XCTAssertEqual(try TimeFormats.parseTimestamp("1970-01-01t01:00:00.1+01:00").seconds, 0)
        XCTAssertEqual(try TimeFormats.parseTimestamp("1970-01-01T00:00:00.1z").nanos, 100_000_000)
        XCTAssertThrowsError(try TimeFormats.parseTimestamp("1970-13-01T00:00:00Z"))
        XCTAssertThrowsError(try TimeFormats.parseTimestamp("1970-01-01T00:00:00.1234567890Z"))
    }

    func testDurationsCarryTheSignOnBothParts() throws {
        XCTAssertEqual(try TimeFormats.formatDuration(seconds: -1, nanos: -1), "-1.000000001s")
        XCTAssertEqual(try TimeFormats.parseDuration("-0.5s").nanos, -500_000_000)
        XCTAssertThrowsError(try TimeFormats.formatDuration(seconds: 1, nanos: -1))
        XCTAssertThrowsError(try TimeFormats.parseDuration("1.5"))
        XCTAssertThrowsError(try TimeFormats.parseDuration("315576000001s"))
    }
}
