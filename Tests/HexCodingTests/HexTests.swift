import HexCoding
import XCTest

final class HexTests: XCTestCase {
    func testEncodesTwoLowerCaseDigitsPerByteByDefault() {
        XCTAssertEqual(Hex.encode([0x00, 0x0F, 0xA5, 0xFF]), "000fa5ff")
        XCTAssertEqual(Hex.encode([0xAB], uppercase: true), "AB")
        XCTAssertEqual(Hex.encode([UInt8]()), "")
    }

    func testDecodesEitherCaseAndRejectsAnythingElse() {
        XCTAssertEqual(Hex.decode("000fA5fF"), [0x00, 0x0F, 0xA5, 0xFF])
        XCTAssertEqual(Hex.decode(""), [])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("0g"))
        XCTAssertNil(Hex.decode(" 00"))
        XCTAssertNil(Hex.decode("é0"))
    }

    func testRoundTripsEveryByte() {
        let all = (0...255).map(UInt8.init)
        XCTAssertEqual(Hex.decode(Hex.encode(all)), all)
        XCTAssertEqual(Hex.decode(Hex.encode(all, uppercase: true)), all)
    }

    func testDigitAndValueAreInverse() {
        for n in UInt8(0)...15 {
            XCTAssertEqual(Hex.value(ofDigit: Hex.digit(n)), n)
            XCTAssertEqual(Hex.value(ofDigit: Hex.digit(n, uppercase: true)), n)
        }
        XCTAssertNil(Hex.value(ofDigit: UInt8(ascii: "G")))
    }
}
