import StrictJSON
import XCTest

final class JSONParserTests: XCTestCase {
    func testParsesEveryKindKeepingNumberTextAndMemberOrder() throws {
        let v = try JSONParser.parse(#"{"b": [1, -2.50, 1e3, 9007199254740993], "a": {"t": true, "f": false, "n": null}, "s": "x"}"#)
        XCTAssertEqual(v, .object([
            ("b", .array([.number("1"), .number("-2.50"), .number("1e3"), .number("9007199254740993")])),
            ("a", .object([("t", .bool(true)), ("f", .bool(false)), ("n", .null)])),
            ("s", .string("x")),
        ]))
    }

    func testDecodesEveryEscapeIncludingSurrogatePairs() throws {
        let v = try JSONParser.parse(#""\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00""#)
        XCTAssertEqual(v, .string("\" \\ / \u{08} \u{0C} \n \r \t é 😀"))
    }

    func testRejectsInvalidInputWithLineAndColumn() {
        let bad = [
            "{\"a\": 1,}", "[1 2]", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "\"\\ud83d\"", "\"\\ude00\"", "tru", "{\"a\" 1}", "[1] 2", "", "'a'",
        ]
        for text in bad {
            XCTAssertThrowsError(try JSONParser.parse(text), "accepted \(text)")
        }
        do {
            _ = try JSONParser.parse("{\n  \"a\": x}")
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.line, 2)
            XCTAssertEqual(error.column, 8)
            XCTAssertFalse(error.atEnd)
        }
    }

    func testTruncatedInputIsReportedAsEndOfInput() {
        XCTAssertThrowsError(try JSONParser.parse("{\"a\": [1, 2")) { error in
            XCTAssertTrue((error as? JSONSyntaxError)?.atEnd ?? false)
        }
    }

    func testRejectsInvalidUTF8InStrings() {
        XCTAssertThrowsError(try JSONParser.parse(bytes: [0x22, 0xFF, 0x22]))
    }

    func testNestingDeeperThanTheLimitIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        XCTAssertThrowsError(try JSONParser.parse(deep))
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        XCTAssertNoThrow(try JSONParser.parse(ok))
    }

    func testReadsAStreamOfConcatenatedValues() throws {
        var p = JSONParser(" {\"a\":1}\n{\"a\":2} [3] ")
        var values: [JSONValue] = []
        while let v = try p.nextValue() { values.append(v) }
        XCTAssertEqual(values, [.object([("a", .number("1"))]), .object([("a", .number("2"))]), .array([.number("3")])])
        XCTAssertTrue(p.atEnd())
    }
}
