import ProtoJSON
import StrictJSON
import XCTest

final class WellKnownTypesTests: XCTestCase {
    let encoder = JSONToProto(pool: katoPool)
    let decoder = ProtoToJSON(pool: katoPool)

    private func roundTrip(_ json: String, _ type: String) throws -> JSONValue {
        try decoder.decode(try encoder.encode(try JSONParser.parse(json), as: type), as: type)
    }

    private func same(_ json: String, _ type: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try roundTrip(json, "google.protobuf." + type), try JSONParser.parse(json), file: file, line: line)
    }

    func testEveryWellKnownTypeKeepsItsSpecialJSONForm() throws {
        try same(#"{"a":[1,"x",null,true,{"b":{}}]}"#, "Struct")
        try same(#"[1,"x",null]"#, "ListValue")
        try same(#""2024-05-01T12:00:00.500Z""#, "Timestamp")
        try same(#""-1.000000001s""#, "Duration")
        try same(#""fooBar,baz.quxQuux""#, "FieldMask")
        try same("{}", "Empty")
        try same(#""9007199254740993""#, "Int64Value")
        try same(#""18446744073709551615""#, "UInt64Value")
        try same("true", "BoolValue")
        try same(#""aGk=""#, "BytesValue")
        try same(#""x""#, "StringValue")
        try same(#""NaN""#, "DoubleValue")
        try same(#""-Infinity""#, "FloatValue")
    }

    func testAnyCarriesItsTypeAndFieldsOrItsWellKnownValue() throws {
        try same(#"{"@type":"type.googleapis.com/kato.v2.Vector","values":[1.5]}"#, "Any")
        try same(#"{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1s"}"#, "Any")
        XCTAssertThrowsError(try roundTrip(#"{"values":[1]}"#, "google.protobuf.Any"))
        XCTAssertThrowsError(try roundTrip(#"{"@type":"type.googleapis.com/no.Such"}"#, "google.protobuf.Any"))
    }

    func testTimestampsAcceptOffsetsAndPrintUTC() throws {
        XCTAssertEqual(try roundTrip(#""2024-05-01T14:00:00+02:00""#, "google.protobuf.Timestamp"), .string("2024-05-01T12:00:00Z"))
        XCTAssertThrowsError(try roundTrip(#""2024-05-01 12:00:00Z""#, "google.protobuf.Timestamp"))
        XCTAssertThrowsError(try roundTrip(#""10000-01-01T00:00:00Z""#, "google.protobuf.Timestamp"))
    }

    func testBytesAcceptURLSafeBase64() throws {
        XCTAssertEqual(try roundTrip(#""-_8""#, "google.protobuf.BytesValue"), .string("+/8="))
        XCTAssertThrowsError(try roundTrip(#""***""#, "google.protobuf.BytesValue"))
    }

    func testWrappersInAMessageDistinguishUnsetFromZero() throws {
        let json = #"{"config":{"maxPatternLength":"0","sortSymbols":false}}"#
        XCTAssertEqual(try decoder.decode(try encoder.encode(try JSONParser.parse(json), as: "kato.v2.CreateSessionRequest"), as: "kato.v2.CreateSessionRequest"),
                       try JSONParser.parse(json))
    }
}
