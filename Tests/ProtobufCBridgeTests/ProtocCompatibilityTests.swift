import EchoProto
import ProtobufCBridge
import XCTest

/// Bytes written by protoc (an encoder independent of protobuf-c) decode to the expected
/// values, and the bytes kato writes are exactly what protoc writes and decodes back.
final class ProtocCompatibilityTests: XCTestCase {
    func testEchoRequestMatchesProtocByteForByteInBothDirections() throws {
        let text = #"""
            message: "h\303\251llo \360\237\246\200"
            payload: "\000\001\377"
            count: -3
            delay_ms: 2147483647
            fail_code: 14
            fail_message: "unavailable"
            """#
        let protocBytes = try Protoc.encode("grpch2.test.EchoRequest", text, protos: Protoc.echoProtos)
        var expected = Grpch2_Test_EchoRequest()
        expected.message = "héllo 🦀"
        expected.payload = [0, 1, 255]
        expected.count = -3
        expected.delayMs = Int32.max
        expected.failCode = 14
        expected.failMessage = "unavailable"

        XCTAssertEqual(try Grpch2_Test_EchoRequest(serializedBytes: protocBytes), expected)
        XCTAssertEqual(expected.serializedBytes(), protocBytes)
        XCTAssertEqual(
            try Protoc.decode("grpch2.test.EchoRequest", expected.serializedBytes(), protos: Protoc.echoProtos),
            #"""
            message: "h\303\251llo \360\237\246\200"
            payload: "\000\001\377"
            count: -3
            delay_ms: 2147483647
            fail_code: 14
            fail_message: "unavailable"

            """#
        )
    }

    func testStructWithNestedValuesMatchesProtoc() throws {
        // Map entries in ascending key order: the order kato writes them.
        let text = """
            fields { key: "a" value { number_value: -1.5 } }
            fields { key: "b" value { list_value { values { string_value: "x" } values { bool_value: true } values { null_value: NULL_VALUE } } } }
            fields { key: "c" value { struct_value { fields { key: "d" value { string_value: "" } } } } }
            fields { key: "e" value { bool_value: false } }
            """
        let protocBytes = try Protoc.encode("google.protobuf.Struct", text, protos: Protoc.googleProtos)
        var inner = Google_Protobuf_Struct()
        inner.fields = ["d": .string("")]
        var innerValue = Google_Protobuf_Value()
        innerValue.structValue = inner
        var expected = Google_Protobuf_Struct()
        expected.fields = [
            "a": .number(-1.5), "b": .list([.string("x"), .bool(true), .null]), "c": innerValue, "e": .bool(false),
        ]
        XCTAssertEqual(try Google_Protobuf_Struct(serializedBytes: protocBytes), expected)
        XCTAssertEqual(expected.serializedBytes(), protocBytes)
    }

    func testStatusWithDetailsMatchesProtoc() throws {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "SESSION_NOT_FOUND"
        info.domain = "kato.v2"
        info.metadata = ["session_id": "s-1", "trace_id": "0af7651916cd43dd8448eb211c80319c"]
        var any = Google_Protobuf_Any()
        any.typeURL = "type.googleapis.com/google.rpc.ErrorInfo"
        any.value = info.serializedBytes()
        var status = Google_Rpc_Status()
        status.code = 5
        status.message = "session s-1 not found"
        status.details = [any]

        let text = try Protoc.decode("google.rpc.Status", status.serializedBytes(), protos: Protoc.googleProtos)
        XCTAssertTrue(text.contains("code: 5\n"), text)
        XCTAssertTrue(text.contains(#"message: "session s-1 not found""#), text)
        XCTAssertTrue(text.contains(#"type_url: "type.googleapis.com/google.rpc.ErrorInfo""#), text)
        XCTAssertEqual(try Protoc.encode("google.rpc.Status", text, protos: Protoc.googleProtos), status.serializedBytes())

        let infoText = try Protoc.decode("google.rpc.ErrorInfo", info.serializedBytes(), protos: Protoc.googleProtos)
        XCTAssertEqual(infoText, """
            reason: "SESSION_NOT_FOUND"
            domain: "kato.v2"
            metadata {
              key: "session_id"
              value: "s-1"
            }
            metadata {
              key: "trace_id"
              value: "0af7651916cd43dd8448eb211c80319c"
            }

            """)
    }

    func testOneofAndPackedRepeatedFieldsMatchProtoc() throws {
        let text = """
            valid_host: "localhost"
            original_request { host: "h" list_services: "" }
            all_extension_numbers_response { base_type_name: "kato.v2.Event" extension_number: [1, -2, 300] }
            """
        let protocBytes = try Protoc.encode("grpc.reflection.v1.ServerReflectionResponse", text, protos: Protoc.googleProtos)
        var numbers = Grpc_Reflection_V1_ExtensionNumberResponse()
        numbers.baseTypeName = "kato.v2.Event"
        numbers.extensionNumber = [1, -2, 300]
        var original = Grpc_Reflection_V1_ServerReflectionRequest()
        original.host = "h"
        original.listServices = ""
        var expected = Grpc_Reflection_V1_ServerReflectionResponse()
        expected.validHost = "localhost"
        expected.originalRequest = original
        expected.allExtensionNumbersResponse = numbers
        XCTAssertEqual(try Grpc_Reflection_V1_ServerReflectionResponse(serializedBytes: protocBytes), expected)
        XCTAssertEqual(expected.serializedBytes(), protocBytes)
    }

    func testUnknownEnumValueIsKeptAsProtocSeesIt() throws {
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = .UNRECOGNIZED(42)
        XCTAssertEqual(try Protoc.decode("grpc.health.v1.HealthCheckResponse", response.serializedBytes(), protos: Protoc.googleProtos), "status: 42\n")
        response.status = .notServing
        XCTAssertEqual(try Protoc.decode("grpc.health.v1.HealthCheckResponse", response.serializedBytes(), protos: Protoc.googleProtos), "status: NOT_SERVING\n")
    }
}
