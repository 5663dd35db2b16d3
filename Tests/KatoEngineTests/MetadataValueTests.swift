import XCTest

@testable import KatoEngine

/// Metadata values are stored as KATO stores them, as Python's `str(value)`: a string as
/// itself, everything else (and everything inside a container) as its `repr`.
final class MetadataValueTests: XCTestCase {
    func testScalarsAreWrittenAsPythonWritesThem() {
        XCTAssertEqual(MetadataValue.null.pythonString, "None")
        XCTAssertEqual(MetadataValue.bool(true).pythonString, "True")
        XCTAssertEqual(MetadataValue.bool(false).pythonString, "False")
        XCTAssertEqual(MetadataValue.int(-42).pythonString, "-42")
        XCTAssertEqual(MetadataValue.double(1.5).pythonString, "1.5")
        XCTAssertEqual(MetadataValue.double(1e-7).pythonString, "1e-07")
        XCTAssertEqual(MetadataValue.string("it's").pythonString, "it's", "str() of a string is the string")
    }

    func testContainersUseTheReprOfWhatTheyHoldAndKeepKeyOrder() {
        let value = MetadataValue.object([
            (key: "z", value: .array([.int(1), .string("a"), .null])),
            (key: "a", value: .object([(key: "k", value: .bool(true))])),
        ])
        XCTAssertEqual(value.pythonString, "{'z': [1, 'a', None], 'a': {'k': True}}")
        XCTAssertEqual(MetadataValue.array([]).pythonString, "[]")
        XCTAssertEqual(MetadataValue.array([.string("it's")]).pythonString, #"["it's"]"#, "repr picks the quote as Python does")
    }

    func testEqualityIsByValueWithNaNEqualToItselfAndOrderedKeys() {
        XCTAssertEqual(MetadataValue.double(.nan), .double(.nan))
        XCTAssertNotEqual(MetadataValue.int(1), .double(1))
        let ab = MetadataValue.object([(key: "a", value: .int(1)), (key: "b", value: .int(2))])
        let ba = MetadataValue.object([(key: "b", value: .int(2)), (key: "a", value: .int(1))])
        XCTAssertNotEqual(ab, ba, "Python dicts keep insertion order, and so does the stored text")
        XCTAssertEqual(Set([MetadataValue.int(3), .int(3)]).count, 1)
    }

    func testOnlyFiniteNumbersAnywhereInsideAreFinite() {
        XCTAssertTrue(MetadataValue.object([(key: "x", value: .array([.double(1), .int(2)]))]).isFinite)
        XCTAssertFalse(MetadataValue.array([.double(.infinity)]).isFinite)
        XCTAssertFalse(MetadataValue.object([(key: "x", value: .double(.nan))]).isFinite)
    }
}
