import ProtoJSON
import XCTest

final class CodecErrorTests: XCTestCase {
    func testFieldPathReadsLikeTheJSONItPointsInto() {
        let path = FieldPath().appending(field: "observations").appending(index: 2).appending(field: "emotives").appending(key: "jo\"y")
        XCTAssertEqual(path.description, #"observations[2].emotives["jo\"y"]"#)
        XCTAssertEqual(FieldPath().description, "(top level)")
        XCTAssertTrue(FieldPath().isTopLevel)
    }

    func testMessagePutsThePathFirst() {
        XCTAssertEqual(CodecError(.outOfRange, at: FieldPath().appending(field: "a"), "too big").message, "a: too big")
        XCTAssertEqual(CodecError(.invalidValue, "bad").message, "bad")
    }
}
