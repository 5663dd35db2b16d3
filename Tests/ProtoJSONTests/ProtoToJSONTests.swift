import ProtoJSON
import ProtoWire
import StrictJSON
import XCTest

final class ProtoToJSONTests: XCTestCase {
    let decoder = ProtoToJSON(pool: katoPool)

    func testInt64AsStringsEnumsByNameAndJSONNames() throws {
        var w = WireWriter()
        w.tag(2, .varint); w.varint(UInt64(bitPattern: -5))  // ttl_seconds
        w.tag(3, .lengthDelimited)
        var config = WireWriter()
        config.tag(4, .varint); config.varint(1)
        w.lengthDelimited(config.bytes)
        XCTAssertEqual(try decoder.decode(w.bytes, as: "kato.v2.CreateSessionRequest"),
                       .object([("ttlSeconds", .string("-5")), ("config", .object([("stmMode", .string("STM_MODE_CLEAR"))]))]))
    }

    func testAnEnumNumberWithoutANamePrintsAsANumber() throws {
        var w = WireWriter()
        w.tag(4, .varint); w.varint(99)
        XCTAssertEqual(try decoder.decode(w.bytes, as: "kato.v2.SessionConfig"), .object([("stmMode", .number("99"))]))
    }

    func testUnknownFieldsOnTheWireAreDropped() throws {
        var w = WireWriter()
        w.tag(1, .lengthDelimited); w.lengthDelimited(Array("n".utf8))
        w.tag(99, .varint); w.varint(1)
        XCTAssertEqual(try decoder.decode(w.bytes, as: "kato.v2.CreateSessionRequest"), .object([("nodeId", .string("n"))]))
    }

    func testMapKeysComeOutSortedAndTheLastDuplicateWins() throws {
        var w = WireWriter()
        for (k, v) in [("b", 1.0), ("a", 2.0), ("b", 3.0)] {
            var entry = WireWriter()
            entry.tag(1, .lengthDelimited); entry.lengthDelimited(Array(k.utf8))
            entry.tag(2, .fixed64); entry.fixed64(v.bitPattern)
            w.tag(5, .lengthDelimited); w.lengthDelimited(entry.bytes)
        }
        XCTAssertEqual(try decoder.decode(w.bytes, as: "kato.v2.ObserveRequest"),
                       .object([("emotives", .object([("a", .number("2")), ("b", .number("3"))]))]))
    }

    func testEmitDefaultsPrintsEveryField() throws {
        let all = ProtoToJSON(pool: katoPool, emitDefaults: true)
        XCTAssertEqual(try all.decode([], as: "kato.v2.Vector"), .object([("values", .array([]))]))
        let config = try all.decode([], as: "kato.v2.SessionConfig")
        guard case .object(let members) = config else { return XCTFail() }
        XCTAssertEqual(members.first { $0.0 == "stmMode" }?.1, .string("STM_MODE_UNSPECIFIED"))
        XCTAssertEqual(members.first { $0.0 == "maxPatternLength" }?.1, .null)
    }

    func testMalformedBytesAreAnError() {
        XCTAssertThrowsError(try decoder.decode([0x0A, 0x05, 0x01], as: "kato.v2.ObserveRequest"))
        // A string field sent as a varint: like protobuf, a wrong wire type is an unknown field.
        XCTAssertEqual(try decoder.decode([0x08, 0x01], as: "kato.v2.GetPredictionsResponse"), .object([]))
    }
}
