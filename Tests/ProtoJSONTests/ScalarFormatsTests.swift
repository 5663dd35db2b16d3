import ProtoJSON
import StrictJSON
import XCTest

final class ScalarFormatsTests: XCTestCase {
    func testIntegersFromNumbersAndStringsWithinTheirRange() throws {
        XCTAssertEqual(try ScalarFormats.signed(.number("-2147483648"), bits: 32), -2_147_483_648)
        XCTAssertEqual(try ScalarFormats.signed(.string("1e3"), bits: 64), 1000)
        XCTAssertThrowsError(try ScalarFormats.signed(.number("2147483648"), bits: 32))
        XCTAssertThrowsError(try ScalarFormats.unsigned(.number("-1"), bits: 64))
        XCTAssertThrowsError(try ScalarFormats.signed(.string(" 1"), bits: 64))
        XCTAssertThrowsError(try ScalarFormats.signed(.bool(true), bits: 64))
        XCTAssertThrowsError(try ScalarFormats.signed(.number("1.5"), bits: 64))
        XCTAssertThrowsError(try ScalarFormats.unsigned(.number("1e20"), bits: 64))
    }

    func testExponentAndFractionFormsAreExactNotThroughDouble() throws {
        XCTAssertEqual(try ScalarFormats.signed(.number("9.007199254740993e15"), bits: 64), 9_007_199_254_740_993)
        XCTAssertEqual(try ScalarFormats.signed(.number("-92233720368547758.08e2"), bits: 64), Int64.min)
        XCTAssertEqual(try ScalarFormats.unsigned(.string("1844674407370955161.5e1"), bits: 64), UInt64.max)
        XCTAssertEqual(try ScalarFormats.signed(.number("5.000"), bits: 32), 5)
        XCTAssertEqual(try ScalarFormats.signed(.number("-0.0e5"), bits: 32), 0)
        XCTAssertEqual(try ScalarFormats.signed(.number("1000e-3"), bits: 32), 1)
        XCTAssertThrowsError(try ScalarFormats.signed(.number("1500e-3"), bits: 32))
    }

    func testFloatsTakeTheSpecialStringsAndRejectOverflow() throws {
        XCTAssertTrue(try ScalarFormats.double(.string("NaN")).isNaN)
        XCTAssertEqual(try ScalarFormats.double(.string("-Infinity")), -.infinity)
        XCTAssertThrowsError(try ScalarFormats.double(.number("1e999")))
        XCTAssertThrowsError(try ScalarFormats.float(.number("1e39")))
        XCTAssertThrowsError(try ScalarFormats.double(.string("inf")))
    }

    func testFloatsPrintShortestRoundTripText() {
        XCTAssertEqual(ScalarFormats.json(0.1), .number("0.1"))
        XCTAssertEqual(ScalarFormats.json(42.0), .number("42"))
        XCTAssertEqual(ScalarFormats.json(Double.nan), .string("NaN"))
        XCTAssertEqual(ScalarFormats.json(Float(0.1)), .number("0.1"))
    }

    func testFloatTextMatchesGosEncodingJSON() {
        let cases: [(Double, String)] = [
            (100, "100"), (0.1, "0.1"), (-2.5, "-2.5"), (1e-5, "0.00001"), (1e-6, "0.000001"), (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"), (1e20, "100000000000000000000"), (1.2345678901234568e20, "123456789012345680000"),
            (1e21, "1e+21"), (-1.5e300, "-1.5e+300"), (5e-324, "5e-324"), (0, "0"), (-0.0, "-0"), (123456.789, "123456.789"),
            (9007199254740993, "9007199254740992"),
        ]
        for (d, text) in cases {
            XCTAssertEqual(ScalarFormats.json(d), .number(text), "\(d)")
        }
    }

    func testBase64BothAlphabetsWithOrWithoutPadding() throws {
        XCTAssertEqual(try ScalarFormats.bytes(.string("aGk=")), Array("hi".utf8))
        XCTAssertEqual(try ScalarFormats.bytes(.string("aGk")), Array("hi".utf8))
        XCTAssertEqual(try ScalarFormats.bytes(.string("-_8")), [0xFB, 0xFF])
        XCTAssertEqual(ScalarFormats.base64([0xFB, 0xFF][...]), "+/8=")
    }
}
