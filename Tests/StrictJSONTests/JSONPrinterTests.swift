import StrictJSON
import XCTest

final class JSONPrinterTests: XCTestCase {
    func testQuoteEscapesWhatJSONAndJavaScriptNeed() {
        XCTAssertEqual(JSONPrinter.quote("a\"b\\c\n\r\t\u{08}\u{0C}"), #""a\"b\\c\n\r\t\b\f""#)
        XCTAssertEqual(JSONPrinter.quote("\u{00}\u{1F}\u{7F}"), #""\u0000\u001f\u007f""#)
        // U+2028/2029 are legal JSON but end lines in JavaScript source.
        XCTAssertEqual(JSONPrinter.quote("\u{2028}\u{2029}"), #""\u2028\u2029""#)
        XCTAssertEqual(JSONPrinter.quote("é😀/<>"), "\"é😀/<>\"")
    }

    func testIndentedOutputLooksLikeGrpcurl() {
        let v = JSONValue.object([("a", .array([.number("1"), .object([])])), ("b", .array([]))])
        XCTAssertEqual(JSONPrinter().print(v), "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}")
    }

    func testCompactOutputHasNoWhitespace() {
        let v = JSONValue.object([("a", .array([.number("1"), .bool(true), .null])), ("s", .string("x y"))])
        XCTAssertEqual(JSONPrinter(compact: true).print(v), #"{"a":[1,true,null],"s":"x y"}"#)
    }

    func testPrintedTextParsesBackToTheSameValue() throws {
        let v = JSONValue.object([("k\u{2028}", .string("\u{01}\"\\")), ("n", .number("-1.5e-7"))])
        XCTAssertEqual(try JSONParser.parse(JSONPrinter().print(v)), v)
        XCTAssertEqual(try JSONParser.parse(JSONPrinter(compact: true).print(v)), v)
    }
}
