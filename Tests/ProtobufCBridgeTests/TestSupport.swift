import ProtobufCBridge
import XCTest

/// Encodes `message`, decodes the bytes again, asserts the result equals `message` and returns it.
@discardableResult
func assertRoundTrip<M: ProtoMessage>(_ message: M, file: StaticString = #filePath, line: UInt = #line) throws -> M {
    let bytes = message.serializedBytes()
    let decoded = try M(serializedBytes: bytes)
    XCTAssertEqual(decoded, message, "round trip of \(M.protoMessageName) changed the value", file: file, line: line)
    XCTAssertEqual(decoded.serializedBytes(), bytes, "re-encoding \(M.protoMessageName) changed the bytes", file: file, line: line)
    return decoded
}

/// Asserts that decoding `bytes` as `M` fails with a `ProtoDecodingError` naming `M` (or a nested type).
func assertDecodingFails<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
    do {
        let value = try M(serializedBytes: bytes)
        XCTFail("decoded \(bytes) as \(value)", file: file, line: line)
    } catch {
        XCTAssertFalse(error.messageName.isEmpty, file: file, line: line)
        XCTAssertFalse(error.reason.isEmpty, file: file, line: line)
    }
}

extension Google_Protobuf_Value {
    static func number(_ value: Double) -> Self { var v = Self(); v.numberValue = value; return v }
    static func string(_ value: String) -> Self { var v = Self(); v.stringValue = value; return v }
    static func bool(_ value: Bool) -> Self { var v = Self(); v.boolValue = value; return v }
    static var null: Self { var v = Self(); v.nullValue = .nullValue; return v }
    static func list(_ values: [Self]) -> Self { var l = Google_Protobuf_ListValue(); l.values = values; var v = Self(); v.listValue = l; return v }
    static func object(_ fields: [String: Self]) -> Self { var s = Google_Protobuf_Struct(); s.fields = fields; var v = Self(); v.structValue = s; return v }
}
