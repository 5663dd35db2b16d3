import XCTest
@testable import KatoEngine

final class PythonReprTests: XCTestCase {
    func testLearnNamesPatternBySha1OfPythonRepr() {
        XCTAssertEqual(Naming.patternHash([["hello"], ["world"]]), "7d0678ba6305341ce0d25133ab086208656a562f")
        XCTAssertEqual(Naming.patternHash([["a", "b"], ["c"]]), "e9e43f2309079f2843665ab773996d99489306d6")
        XCTAssertEqual(Naming.patternHash([["A"], ["B"], ["C"]]), "5b93697e1e591a765dd0b3c91ae7b57fa44589d9")
        XCTAssertEqual(Naming.patternHash([["a"], ["b"], ["c"]]), "b98534b32c1d7489d4ce1a48724aa65aeecbdba9")
        XCTAssertEqual(Naming.patternHash([["it's"], ["x"]]), "271339250f33fe945c5a24f7deb31f02ce16ddb5")
    }

    func testStringReprChoosesQuotesAndEscapesLikePython() {
        XCTAssertEqual(PythonRepr.string("it's"), "\"it's\"")
        XCTAssertEqual(PythonRepr.string("a'b\"c"), "'a\\'b\"c'")
        XCTAssertEqual(PythonRepr.string("back\\slash"), "'back\\\\slash'")
        XCTAssertEqual(PythonRepr.string("t\tn\nr\r"), "'t\\tn\\nr\\r'")
        XCTAssertEqual(PythonRepr.string("\u{0}\u{7f}\u{85}\u{a0}"), "'\\x00\\x7f\\x85\\xa0'")
        XCTAssertEqual(PythonRepr.string("\u{2028}\u{200b}\u{e000}\u{e0001}"), "'\\u2028\\u200b\\ue000\\U000e0001'")
        XCTAssertEqual(PythonRepr.string("café 日本 😀"), "'café 日本 😀'")
    }

    func testEveryReprFixtureMatchesPython() throws {
        for f in try loadFixture("python_repr.json") {
            let events = f["events"] as! [[String]]
            XCTAssertEqual(PythonRepr.events(events), f["repr"] as? String, "\(events)")
            XCTAssertEqual(Naming.publicName(Naming.patternHash(events)), f["name"] as? String)
        }
    }

    func testFloatReprMatchesPython() throws {
        XCTAssertEqual(PythonRepr.float(1.5), "1.5")
        XCTAssertEqual(PythonRepr.float(1e-5), "1e-05")
        XCTAssertEqual(PythonRepr.float(1e16), "1e+16")
        XCTAssertEqual(PythonRepr.float(1e15), "1000000000000000.0")
        XCTAssertEqual(PythonRepr.float(-0.0), "-0.0")
        for f in try loadFixture("python_float_repr.json") {
            let x = double(fromHex: f["hex"] as! String)
            XCTAssertEqual(PythonRepr.float(x), f["repr"] as? String)
        }
    }

    func testMetadataValuesAreStoredAsPythonStr() {
        XCTAssertEqual(MetadataValue.int(5).pythonString, "5")
        XCTAssertEqual(MetadataValue.bool(true).pythonString, "True")
        XCTAssertEqual(MetadataValue.null.pythonString, "None")
        XCTAssertEqual(MetadataValue.double(1.5).pythonString, "1.5")
        XCTAssertEqual(MetadataValue.string("t1").pythonString, "t1")
        XCTAssertEqual(MetadataValue.array([.int(1), .string("a")]).pythonString, "[1, 'a']")
        XCTAssertEqual(MetadataValue.object([(key: "a", value: .int(1))]).pythonString, "{'a': 1}")
    }
}
