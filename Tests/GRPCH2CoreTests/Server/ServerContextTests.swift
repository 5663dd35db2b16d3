import XCTest

@testable import GRPCH2Core

private enum NameKey: AttributeKey { typealias Value = String }
private enum CountKey: AttributeKey { typealias Value = Int }
private enum FlagKey: AttributeKey { typealias Value = Bool }
private final class Record: Sendable { let name: String; init(_ name: String) { self.name = name } }
private protocol Named: AnyObject, Sendable { var name: String { get } }
extension Record: Named {}
private enum RecordKey: AttributeKey { typealias Value = Record }
private enum NamedKey: AttributeKey { typealias Value = any Named }
private enum ObjectKey: AttributeKey { typealias Value = any AnyObject & Sendable }

final class ServerContextTests: XCTestCase {
    func testClassInstancesAndExistentialsComeBackAsTheyWereStored() {
        // Class instances are kept as they are, other values boxed: both read back unchecked.
        let record = Record("r")
        var attributes = ServerContext.Attributes()
        attributes[RecordKey.self] = record
        attributes[NamedKey.self] = Record("n")
        attributes[ObjectKey.self] = record
        attributes[CountKey.self] = 7
        XCTAssertTrue(attributes[RecordKey.self] === record)
        XCTAssertEqual(attributes[NamedKey.self]?.name, "n")
        XCTAssertTrue(attributes[ObjectKey.self] === record)
        XCTAssertEqual(attributes[CountKey.self], 7)
    }

    func testAttributesKeepEachKeysValueApart() {
        var attributes = ServerContext.Attributes()
        XCTAssertNil(attributes[NameKey.self])
        attributes[NameKey.self] = "alice"
        attributes[CountKey.self] = 3
        attributes[FlagKey.self] = true
        XCTAssertEqual(attributes[NameKey.self], "alice")
        XCTAssertEqual(attributes[CountKey.self], 3)
        XCTAssertEqual(attributes[FlagKey.self], true)
    }

    func testAttributeOverwriteReplacesOnlyThatKey() {
        var attributes = ServerContext.Attributes()
        attributes[NameKey.self] = "alice"
        attributes[CountKey.self] = 3
        attributes[NameKey.self] = "bob"
        attributes[CountKey.self] = 4
        XCTAssertEqual(attributes[NameKey.self], "bob")
        XCTAssertEqual(attributes[CountKey.self], 4)
    }

    func testSettingAnAttributeToNilRemovesItAndKeepsTheOthers() {
        var attributes = ServerContext.Attributes()
        attributes[NameKey.self] = "alice"
        attributes[CountKey.self] = 3
        attributes[FlagKey.self] = false
        attributes[NameKey.self] = nil  // the inline first entry
        XCTAssertNil(attributes[NameKey.self])
        XCTAssertEqual(attributes[CountKey.self], 3)
        XCTAssertEqual(attributes[FlagKey.self], false)
        attributes[FlagKey.self] = nil
        XCTAssertNil(attributes[FlagKey.self])
        XCTAssertEqual(attributes[CountKey.self], 3)
        attributes[NameKey.self] = "carol"
        XCTAssertEqual(attributes[NameKey.self], "carol")
        attributes[CountKey.self] = nil
        attributes[NameKey.self] = nil
        XCTAssertNil(attributes[CountKey.self])
        XCTAssertNil(attributes[NameKey.self])
    }

    func testAttributesAreValuesCopiedIntoEachContext() {
        var outer = ServerContext.Attributes()
        outer[NameKey.self] = "outer"
        var inner = outer
        inner[NameKey.self] = "inner"
        XCTAssertEqual(outer[NameKey.self], "outer")
        XCTAssertEqual(inner[NameKey.self], "inner")
    }
}
