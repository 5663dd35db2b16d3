import ProtoJSON
import ProtoWire
import StrictJSON
import XCTest

final class JSONToProtoTests: XCTestCase {
    let encoder = JSONToProto(pool: katoPool)
    let decoder = ProtoToJSON(pool: katoPool)

    private func roundTrip(_ json: String, _ type: String) throws -> JSONValue {
        try decoder.decode(try encoder.encode(try JSONParser.parse(json), as: type), as: type)
    }

    func testAcceptsLowerCamelAndOriginalFieldNames() throws {
        let a = try roundTrip(#"{"sessionId": "s", "node_id": "n", "unique_id": "u"}"#, "kato.v2.ObserveRequest")
        XCTAssertEqual(a, .object([("sessionId", .string("s")), ("nodeId", .string("n")), ("uniqueId", .string("u"))]))
    }

    func testInt64AcceptsNumbersAndStringsAndKeepsFullPrecision() throws {
        for input in [#""9007199254740993""#, "9007199254740993", "9.007199254740993e15"] {
            let v = try roundTrip(#"{"ttlSeconds": \#(input)}"#, "kato.v2.CreateSessionRequest")
            XCTAssertEqual(v, .object([("ttlSeconds", .string("9007199254740993"))]), input)
        }
        XCTAssertThrowsError(try roundTrip(#"{"ttlSeconds": 1.5}"#, "kato.v2.CreateSessionRequest"))
        XCTAssertThrowsError(try roundTrip(#"{"ttlSeconds": "9223372036854775808"}"#, "kato.v2.CreateSessionRequest"))
    }

    func testEnumsByNameOrNumber() throws {
        let byName = try roundTrip(#"{"config": {"stmMode": "STM_MODE_ROLLING"}}"#, "kato.v2.CreateSessionRequest")
        let byNumber = try roundTrip(#"{"config": {"stmMode": 2}}"#, "kato.v2.CreateSessionRequest")
        XCTAssertEqual(byName, byNumber)
        XCTAssertThrowsError(try roundTrip(#"{"config": {"stmMode": "ROLLING"}}"#, "kato.v2.CreateSessionRequest")) { error in
            let e = error as? CodecError
            XCTAssertEqual(e?.kind, .invalidValue)
            XCTAssertEqual(e?.path?.description, "config.stmMode")
            XCTAssertTrue(e?.reason.contains("STM_MODE_CLEAR") ?? false, "the error lists the valid names")
        }
    }

    func testUnknownFieldIsRejectedWithItsNameAndPath() {
        XCTAssertThrowsError(try roundTrip(#"{"config": {"recall": 0.5}}"#, "kato.v2.CreateSessionRequest")) { error in
            let e = error as? CodecError
            XCTAssertEqual(e?.kind, .unknownField)
            XCTAssertEqual(e?.path?.description, "config")
            XCTAssertEqual(e?.message, #"config: message type kato.v2.SessionConfig has no known field named "recall""#)
        }
    }

    func testUnknownFieldsAndEnumNamesAreSkippedWhenAskedTo() throws {
        let lenient = JSONToProto(pool: katoPool, ignoreUnknownFields: true)
        let bytes = try lenient.encode(try JSONParser.parse(#"{"nodeId": "n", "x": [1], "config": {"stmMode": "NEW"}}"#), as: "kato.v2.CreateSessionRequest")
        XCTAssertEqual(try decoder.decode(bytes, as: "kato.v2.CreateSessionRequest"), .object([("nodeId", .string("n")), ("config", .object([]))]))
    }

    func testAFieldGivenTwiceUnderBothNamesIsRejected() {
        XCTAssertThrowsError(try roundTrip(#"{"nodeId": "a", "node_id": "b"}"#, "kato.v2.CreateSessionRequest")) { error in
            XCTAssertEqual((error as? CodecError)?.kind, .duplicateField)
        }
    }

    func testWrongJSONKindsNameTheFieldPath() {
        let cases: [(String, String)] = [
            (#"{"strings": "a"}"#, "strings"),
            (#"{"strings": [1]}"#, "strings[0]"),
            (#"{"emotives": {"joy": "high"}}"#, #"emotives["joy"]"#),
            (#"{"vectors": [{"values": [1, true]}]}"#, "vectors[0].values[1]"),
            (#"{"emotives": {"joy": null}}"#, #"emotives["joy"]"#),
        ]
        for (json, path) in cases {
            XCTAssertThrowsError(try roundTrip(json, "kato.v2.ObserveRequest"), json) { error in
                XCTAssertEqual((error as? CodecError)?.path?.description, path, json)
            }
        }
    }

    func testDefaultValuesOfImplicitPresenceFieldsAreNotWritten() throws {
        let bytes = try encoder.encode(try JSONParser.parse(#"{"sessionId": "", "ttl_seconds": 0}"#), as: "kato.v2.Session")
        XCTAssertEqual(bytes, [])
    }

    func testNullMeansUnsetExceptForValue() throws {
        XCTAssertEqual(try encoder.encode(try JSONParser.parse(#"{"nodeId": null, "config": null}"#), as: "kato.v2.CreateSessionRequest"), [])
        let v = try roundTrip(#"{"metadata": {"k": null}}"#, "kato.v2.ObserveRequest")
        XCTAssertEqual(v, .object([("metadata", .object([("k", .null)]))]))
    }

    func testRepeatedScalarsArePacked() throws {
        let bytes = try encoder.encode(try JSONParser.parse(#"{"values": [1, 2]}"#), as: "kato.v2.Vector")
        var r = WireReader(bytes)
        guard case .bytes(let packed)? = try r.next()?.value else { return XCTFail("not packed") }
        XCTAssertEqual(packed.count, 16)
    }
}
