import EchoProto
import ProtobufCBridge
import XCTest

/// Bytes that are not a valid encoding fail with `ProtoDecodingError`, never with a crash.
final class ProtoCReaderTests: XCTestCase {
    private func validStruct() -> [UInt8] {
        var s = Google_Protobuf_Struct()
        s.fields = ["k": .list([.string("v"), .object(["x": .number(1)]), .bool(true)]), "n": .number(2)]
        return s.serializedBytes()
    }

    func testTruncatedInputFailsAtEveryCutPoint() {
        let bytes = validStruct()
        var failures = 0
        for cut in 1..<bytes.count {
            let prefix = Array(bytes.prefix(cut))
            // A cut that happens to fall on a field boundary is a valid shorter message.
            if (try? Google_Protobuf_Struct(serializedBytes: prefix)) != nil { continue }
            assertDecodingFails(Google_Protobuf_Struct.self, prefix)
            failures += 1
        }
        XCTAssertGreaterThan(failures, bytes.count / 2)
        assertDecodingFails(Google_Protobuf_Struct.self, Array(bytes.prefix(bytes.count - 1)))
    }

    func testWrongWireTypeFails() {
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x08, 0x01])  // string field 1 as varint
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x1a, 0x01, 0x00])  // int32 field 3 as length-delimited
        assertDecodingFails(Google_Rpc_RetryInfo.self, [0x0d, 0, 0, 0, 0])  // message field 1 as fixed32
    }

    func testInvalidUTF8InAStringFieldFails() {
        for invalid: [UInt8] in [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x61, 0x80, 0x62], [0xf8, 0x88, 0x80, 0x80, 0x80]] {
            let bytes: [UInt8] = [0x0a, UInt8(invalid.count)] + invalid
            assertDecodingFails(Grpch2_Test_EchoRequest.self, bytes)
        }
        do {
            _ = try Grpch2_Test_EchoRequest(serializedBytes: [0x0a, 0x01, 0xff])
        } catch {
            XCTAssertEqual(error.messageName, "grpch2.test.EchoRequest")
            XCTAssertTrue(error.reason.contains("UTF-8") && error.reason.contains("message"), error.reason)
        }
    }

    func testInvalidUTF8DeepInsideNestedMessagesAndMapsFails() {
        // Struct.fields (field 1): entry { key (1) = 0xff }
        assertDecodingFails(Google_Protobuf_Struct.self, [0x0a, 0x03, 0x0a, 0x01, 0xff])
        // Struct.fields: entry { key "k", value (2) = Value { string_value (3) = 0xc0 } }
        assertDecodingFails(Google_Protobuf_Struct.self, [0x0a, 0x08, 0x0a, 0x01, 0x6b, 0x12, 0x03, 0x1a, 0x01, 0xc0])
        // ListValue.values (field 1): Value { string_value (3) = 0xff }
        assertDecodingFails(Google_Protobuf_ListValue.self, [0x0a, 0x03, 0x1a, 0x01, 0xff])
        // ErrorInfo.metadata (field 3): entry { key "k", value (2) = 0xff }
        assertDecodingFails(Google_Rpc_ErrorInfo.self, [0x1a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0xff])
        // ServerReflectionRequest.file_by_filename (field 3, a oneof member)
        assertDecodingFails(Grpc_Reflection_V1_ServerReflectionRequest.self, [0x1a, 0x01, 0xff])
    }

    func testValidUTF8IsAcceptedInBytesFieldsOnlyAsBytes() throws {
        let decoded = try Grpch2_Test_EchoRequest(serializedBytes: [0x12, 0x02, 0xff, 0xfe])
        XCTAssertEqual(decoded.payload, [0xff, 0xfe], "bytes fields are not UTF-8 checked")
    }

    func testLengthBeyondTheBufferFails() {
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x0a, 0x7f, 0x61])
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])
    }

    func testOverlongVarintFails() {
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x18] + [UInt8](repeating: 0xff, count: 11) + [0x01])
    }

    func testGroupWireTypesAndFieldZeroFail() {
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x0b, 0x0c])  // start/end group
        assertDecodingFails(Grpch2_Test_EchoRequest.self, [0x00, 0x01])  // field number 0
    }

    func testRandomGarbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        var failures = 0
        for length in 1...64 {
            for _ in 0..<40 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if (try? Google_Protobuf_Struct(serializedBytes: bytes)) == nil { failures += 1 }
                _ = try? Grpch2_Test_EchoRequest(serializedBytes: bytes)
                _ = try? Google_Rpc_Status(serializedBytes: bytes)
                _ = try? Grpc_Reflection_V1_ServerReflectionResponse(serializedBytes: bytes)
            }
        }
        XCTAssertGreaterThan(failures, 0)
    }

    func testUnknownFieldsAreSkipped() throws {
        // field 15 (varint 1) and field 16 (length-delimited "zz") are not in EchoResponse
        let bytes: [UInt8] = [0x78, 0x01, 0x82, 0x01, 0x02, 0x7a, 0x7a, 0x18, 0x05]
        let decoded = try Grpch2_Test_EchoResponse(serializedBytes: bytes)
        XCTAssertEqual(decoded.index, 5)
        XCTAssertEqual(decoded.serializedBytes(), [0x18, 0x05])
    }
}

/// Hostile nesting is rejected before protobuf-c (which recurses without limit) sees it.
final class NestingLimitTests: XCTestCase {
    /// `levels` ListValues nested through Value.list_value, innermost a number.
    private func nestedList(levels: Int) -> [UInt8] {
        let inner: [UInt8] = [0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]  // Value { number_value: 1 }
        var headers: [[UInt8]] = []
        var size = inner.count
        for _ in 0..<levels {
            for field: UInt8 in [1, 6] {  // ListValue { values: ... }, then Value { list_value: ... }
                let h = header(field: field, length: size)
                headers.append(h)
                size += h.count
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for h in headers.reversed() { out += h }
        return out + inner
    }

    private func header(field: UInt8, length: Int) -> [UInt8] {
        var out: [UInt8] = [field << 3 | 2]
        var n = length
        while n >= 0x80 {
            out.append(UInt8(n & 0x7f) | 0x80)
            n >>= 7
        }
        out.append(UInt8(n))
        return out
    }

    func testNestingUpToTheLimitDecodes() throws {
        let value = try Google_Protobuf_Value(serializedBytes: nestedList(levels: 49))  // 98 levels below the Value
        XCTAssertEqual(value.serializedBytes(), nestedList(levels: 49))
    }

    func testNestingBeyondTheLimitFailsInsteadOfExhaustingTheStack() {
        assertDecodingFails(Google_Protobuf_Value.self, nestedList(levels: 51))
        // ~1 MB, ~200 000 levels: would overflow the stack in protobuf-c without the check.
        let hostile = nestedList(levels: 100_000)
        do {
            _ = try Google_Protobuf_Value(serializedBytes: hostile)
            XCTFail("decoded a message nested 200 000 levels deep")
        } catch {
            XCTAssertTrue(error.reason.contains("nested deeper"), error.reason)
        }
        var status = Google_Rpc_Status()
        status.code = 1
        XCTAssertEqual(try Google_Rpc_Status(serializedBytes: status.serializedBytes()), status, "bounded types are not scanned")
    }
}
