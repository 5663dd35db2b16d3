import EchoProto
import ProtobufCBridge
import XCTest

/// Every field kind survives encode → decode through libprotobuf-c unchanged.
final class ProtoMessageCodecTests: XCTestCase {
    func testEmptyMessageEncodesToNoBytesAndDecodesToDefaults() throws {
        XCTAssertEqual(Grpch2_Test_EchoRequest().serializedBytes(), [])
        XCTAssertEqual(try Grpch2_Test_EchoRequest(serializedBytes: []), Grpch2_Test_EchoRequest())
        XCTAssertEqual(Google_Protobuf_Empty().serializedBytes(), [])
        XCTAssertEqual(try Google_Protobuf_Empty(serializedBytes: []), Google_Protobuf_Empty())
    }

    func testScalarsStringsAndBytesRoundTrip() throws {
        var request = Grpch2_Test_EchoRequest()
        request.message = "héllo wörld — 你好 🦀"
        request.payload = Array(0...255)
        request.count = 7
        request.delayMs = -1
        request.failCode = Int32.min
        request.failMessage = "x"
        try assertRoundTrip(request)
    }

    func testEmptyStringAndBytesAreTheDefaultAndNotSent() throws {
        var response = Grpch2_Test_EchoResponse()
        response.message = ""
        response.payload = []
        response.index = 3
        XCTAssertEqual(response.serializedBytes(), [0x18, 0x03])
        try assertRoundTrip(response)
    }

    func testNegativeAndExtremeIntegersRoundTrip() throws {
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = Int64.min
        timestamp.nanos = -999_999_999
        try assertRoundTrip(timestamp)
        timestamp.seconds = Int64.max
        timestamp.nanos = Int32.max
        try assertRoundTrip(timestamp)

        var status = Google_Rpc_Status()
        status.code = -5
        XCTAssertEqual(status.serializedBytes().count, 11, "a negative int32 is a 10-byte varint")
        try assertRoundTrip(status)

        var u64 = Google_Protobuf_UInt64Value()
        u64.value = UInt64.max
        try assertRoundTrip(u64)
        var u32 = Google_Protobuf_UInt32Value()
        u32.value = UInt32.max
        try assertRoundTrip(u32)
    }

    func testFloatingPointSpecialValuesRoundTrip() throws {
        for value in [0.0, -0.0, 1.5e-300, -Double.greatestFiniteMagnitude, .infinity, -.infinity] {
            var d = Google_Protobuf_DoubleValue()
            d.value = value
            let decoded = try Google_Protobuf_DoubleValue(serializedBytes: d.serializedBytes())
            XCTAssertEqual(decoded.value.bitPattern, value.bitPattern == (-0.0).bitPattern ? 0 : value.bitPattern,
                           "proto3 drops -0.0 like any zero")
        }
        var nan = Google_Protobuf_FloatValue()
        nan.value = .nan
        XCTAssertTrue(try Google_Protobuf_FloatValue(serializedBytes: nan.serializedBytes()).value.isNaN)
        var f = Google_Protobuf_FloatValue()
        f.value = -3.25
        try assertRoundTrip(f)
    }

    func testRepeatedInt32AndBytesRoundTrip() throws {
        var numbers = Grpc_Reflection_V1_ExtensionNumberResponse()
        numbers.baseTypeName = "kato.v2.Event"
        numbers.extensionNumber = [1, -1, Int32.max, Int32.min, 0]
        try assertRoundTrip(numbers)

        var files = Grpc_Reflection_V1_FileDescriptorResponse()
        files.fileDescriptorProto = [[1, 2, 3], [], [0, 0, 0xff]]
        try assertRoundTrip(files)
    }

    func testMapsEncodeInKeyOrderSoEqualMapsGiveEqualBytes() {
        var a = Google_Rpc_ErrorInfo()
        var b = Google_Rpc_ErrorInfo()
        for key in (0..<50).map(String.init) { a.metadata[key] = key }
        for key in (0..<50).map(String.init).reversed() { b.metadata[key] = key }
        XCTAssertEqual(a.serializedBytes(), b.serializedBytes())
    }

    func testOneofsRoundTripEveryMemberIncludingDefaultValues() throws {
        let requests: [Grpc_Reflection_V1_ServerReflectionRequest.OneOf_MessageRequest?] = [
            nil, .fileByFilename("kato/v2/types.proto"), .fileByFilename(""),
            .fileContainingSymbol("kato.v2.ObserveService"), .fileContainingExtension(.init()),
            .allExtensionNumbersOfType("x"), .listServices(""),
        ]
        for member in requests {
            var request = Grpc_Reflection_V1_ServerReflectionRequest()
            request.host = "localhost"
            request.messageRequest = member
            XCTAssertEqual(try assertRoundTrip(request).messageRequest, member)
        }

        var response = Grpc_Reflection_V1alpha_ServerReflectionResponse()
        var services = Grpc_Reflection_V1alpha_ListServiceResponse()
        var service = Grpc_Reflection_V1alpha_ServiceResponse()
        service.name = "grpc.health.v1.Health"
        services.service = [service]
        response.listServicesResponse = services
        var original = Grpc_Reflection_V1alpha_ServerReflectionRequest()
        original.listServices = "*"
        response.originalRequest = original
        try assertRoundTrip(response)
    }

    func testOneofAccessorsReadDefaultsAndSetTheCase() {
        var value = Google_Protobuf_Value()
        XCTAssertNil(value.kind)
        XCTAssertEqual(value.numberValue, 0)
        value.stringValue = "s"
        XCTAssertEqual(value.kind, .stringValue("s"))
        XCTAssertEqual(value.numberValue, 0)
    }

    func testEnumsRoundTripIncludingUnknownValues() throws {
        var response = Grpc_Health_V1_HealthCheckResponse()
        for status in Grpc_Health_V1_HealthCheckResponse.ServingStatus.allCases {
            response.status = status
            try assertRoundTrip(response)
        }
        response.status = .UNRECOGNIZED(99)
        XCTAssertEqual(try assertRoundTrip(response).status.rawValue, 99)
        response.status = .UNRECOGNIZED(-7)
        XCTAssertEqual(try assertRoundTrip(response).status, .UNRECOGNIZED(-7))

        // field 1 (status) = 42, written by hand: an enum value this build does not know
        let decoded = try Grpc_Health_V1_HealthCheckResponse(serializedBytes: [0x08, 42])
        XCTAssertEqual(decoded.status, .UNRECOGNIZED(42))
        XCTAssertEqual(decoded.serializedBytes(), [0x08, 42])
    }

    func testRecursiveStructValueAndListValueRoundTrip() throws {
        var deep = Google_Protobuf_Value.number(1)
        for depth in 0..<30 {  // ~75 message levels (maps add one per entry), under the limit of 100
            deep = depth.isMultiple(of: 2) ? .list([deep, .string("d\(depth)")]) : .object(["k\(depth)": deep, "n": .null])
        }
        var s = Google_Protobuf_Struct()
        s.fields = ["deep": deep, "flat": .number(-0.25), "list": .list([])]
        try assertRoundTrip(s)
        try assertRoundTrip(deep)
        var list = Google_Protobuf_ListValue()
        list.values = [deep, .null, Google_Protobuf_Value()]
        try assertRoundTrip(list)
    }

    func testBoolsRoundTrip() throws {
        var wrapper = Google_Protobuf_BoolValue()
        wrapper.value = true
        XCTAssertEqual(wrapper.serializedBytes(), [0x08, 0x01])
        try assertRoundTrip(wrapper)
        try assertRoundTrip(Google_Protobuf_Value.bool(false))
    }

    func testMapsOfStringsAndOfMessagesRoundTrip() throws {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "SESSION_NOT_FOUND"
        info.domain = "kato.v2"
        info.metadata = ["trace_id": "abc", "session_id": "s-1", "": "", "empty": "", "ü": "ö"]
        try assertRoundTrip(info)

        var s = Google_Protobuf_Struct()
        s.fields = ["n": .number(42), "s": .string("text"), "b": .bool(false), "null": .null, "unset": Google_Protobuf_Value()]
        XCTAssertEqual(try assertRoundTrip(s).fields["unset"], Google_Protobuf_Value())
    }

    func testNestedAndRepeatedMessagesRoundTrip() throws {
        var bad = Google_Rpc_BadRequest()
        var violation = Google_Rpc_BadRequest.FieldViolation()
        violation.field = "config.persistence"
        violation.description = "must be 1..100"
        bad.fieldViolations = [violation, .init(), violation]
        try assertRoundTrip(bad)

        var retry = Google_Rpc_RetryInfo()
        XCTAssertNil(try assertRoundTrip(retry).retryDelay, "an absent sub-message stays nil")
        retry.retryDelay = Google_Protobuf_Duration()
        XCTAssertEqual(try assertRoundTrip(retry).retryDelay, Google_Protobuf_Duration(), "a present empty sub-message stays present")

        var status = Google_Rpc_Status()
        status.code = 5
        status.message = "session not found"
        var any = Google_Protobuf_Any()
        any.typeURL = "type.googleapis.com/google.rpc.BadRequest"
        any.value = bad.serializedBytes()
        status.details = [any, Google_Protobuf_Any()]
        let decoded = try assertRoundTrip(status)
        XCTAssertEqual(try Google_Rpc_BadRequest(serializedBytes: decoded.details[0].value), bad)
    }

    func testLargeMessagesSpillOutOfTheInlineArena() throws {
        var request = Grpch2_Test_EchoRequest()
        request.payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        request.message = String(repeating: "ß", count: 100_000)
        try assertRoundTrip(request)

        var s = Google_Protobuf_Struct()
        s.fields = Dictionary(uniqueKeysWithValues: (0..<2_000).map { ("key-\($0)", .number(Double($0))) })
        try assertRoundTrip(s)
    }

    func testSerializedSizeHeadroomAndBufferVariantsAgree() throws {
        var request = Grpch2_Test_EchoRequest()
        request.message = "hello"
        request.payload = [1, 2, 3]
        let bytes = request.serializedBytes()
        XCTAssertEqual(request.serializedSize, bytes.count)
        let framed = request.serializedBytes(headroom: 5)
        XCTAssertEqual(Array(framed.prefix(5)), [0, 0, 0, 0, 0])
        XCTAssertEqual(Array(framed.dropFirst(5)), bytes)
        var buffer = [UInt8](repeating: 0xaa, count: bytes.count + 3)
        let written = buffer.withUnsafeMutableBytes { request.serialize(into: $0) }
        XCTAssertEqual(written, bytes.count)
        XCTAssertEqual(Array(buffer.prefix(written)), bytes)
        let decoded = try framed.withUnsafeBytes { try Grpch2_Test_EchoRequest(serializedBytes: UnsafeRawBufferPointer(rebasing: $0.dropFirst(5))) }
        XCTAssertEqual(decoded, request)
    }

    func testMessagesAreSendableValuesUsableAcrossTasks() async throws {
        var request = Grpch2_Test_EchoRequest()
        request.message = "concurrent"
        let shared = request
        let results = try await withThrowingTaskGroup(of: Grpch2_Test_EchoRequest.self) { group in
            for i in 0..<8 {
                group.addTask {
                    var copy = shared
                    copy.count = Int32(i)
                    return try Grpch2_Test_EchoRequest(serializedBytes: copy.serializedBytes())
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(Set(results.map(\.count)), Set(0..<8))
        XCTAssertTrue(results.allSatisfy { $0.message == "concurrent" })
    }
}
