import StrictJSON
import XCTest

final class JSONValueTests: XCTestCase {
    func testEqualityKeepsMemberOrderAndNumberText() {
        XCTAssertNotEqual(JSONValue.object([("a", .null), ("b", .null)]), .object([("b", .null), ("a", .null)]))
        XCTAssertNotEqual(JSONValue.number("1"), .number("1.0"))
        XCTAssertEqual(JSONValue.array([.string("x")]), .array([.string("x")]))
    }

    func testKindNamesEveryCase() {
        XCTAssertEqual([JSONValue.null, .bool(true), .number("1"), .string(""), .array([]), .object([])].map(\.kind),
                       ["null", "boolean", "number", "string", "array", "object"])
    }
}
