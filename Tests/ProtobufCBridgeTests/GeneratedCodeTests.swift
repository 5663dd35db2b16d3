import EchoProto
import ProtobufCBridge
import XCTest

/// The generated types agree with the protoc-c descriptors they read and write through.
final class GeneratedCodeTests: XCTestCase {
    static let allMessageTypes: [any ProtoMessage.Type] =
        Google_Protobuf_ProtoFiles.messageTypes + Google_Rpc_ProtoFiles.messageTypes
        + Grpc_Health_V1_ProtoFiles.messageTypes + Grpc_Reflection_V1_ProtoFiles.messageTypes
        + Grpc_Reflection_V1alpha_ProtoFiles.messageTypes + Grpch2_Test_ProtoFiles.messageTypes

    func testEveryMessageUsesTheDescriptorOfItsOwnProtoType() {
        XCTAssertEqual(Self.allMessageTypes.count, 42)
        for type in Self.allMessageTypes {
            XCTAssertEqual(type.cDescriptor.protoName, type.protoMessageName)
        }
        XCTAssertEqual(Google_Rpc_BadRequest.FieldViolation.protoMessageName, "google.rpc.BadRequest.FieldViolation")
    }

    func testProtocCSortsFieldsByNumberWhichIsTheIndexGeneratedCodeUses() {
        for type in Self.allMessageTypes {
            let numbers = type.cDescriptor.fieldNumbers
            XCTAssertEqual(numbers, numbers.sorted(), type.protoMessageName)
        }
        XCTAssertEqual(Grpc_Reflection_V1_ServerReflectionRequest.cDescriptor.fieldNumbers, [1, 3, 4, 5, 6, 7])
        XCTAssertEqual(Grpch2_Test_EchoRequest.cDescriptor.fieldNames, ["message", "payload", "count", "delay_ms", "fail_code", "fail_message"])
    }

    func testEveryMessageRoundTripsItsDefaultValueTouchingEveryField() throws {
        // Encoding a default value visits every field of the writer, decoding every field of the
        // reader; their debug checks assert that each index has the kind the generator assumed.
        for type in Self.allMessageTypes {
            try roundTripDefault(type)
        }
    }

    private func roundTripDefault<M: ProtoMessage>(_ type: M.Type) throws {
        let empty = M()
        XCTAssertEqual(empty.serializedBytes(), [], M.protoMessageName)
        XCTAssertEqual(try M(serializedBytes: []), empty, M.protoMessageName)
    }

    func testServiceMethodDescriptorsCarryPathKindAndTypes() {
        XCTAssertEqual(Grpc_Health_V1_Health.serviceName, "grpc.health.v1.Health")
        XCTAssertEqual(Grpc_Health_V1_Health.check.path, "/grpc.health.v1.Health/Check")
        XCTAssertEqual(Grpc_Health_V1_Health.check.kind, .unary)
        XCTAssertEqual(Grpc_Health_V1_Health.watch.kind, .serverStreaming)
        XCTAssertEqual(Grpc_Health_V1_Health.watch.serviceName, "grpc.health.v1.Health")
        XCTAssertEqual(Grpc_Health_V1_Health.watch.methodName, "Watch")
        XCTAssertEqual(Grpc_Reflection_V1_ServerReflection.serverReflectionInfo.kind, .bidirectionalStreaming)
        XCTAssertEqual(Grpc_Reflection_V1alpha_ServerReflection.serverReflectionInfo.path, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")

        let echo = Grpch2_Test_Echo.methods
        XCTAssertEqual(echo.map(\.path), ["/grpch2.test.Echo/Unary", "/grpch2.test.Echo/ServerStream", "/grpch2.test.Echo/ClientStream", "/grpch2.test.Echo/BidiStream"])
        XCTAssertEqual(echo.map(\.kind), [.unary, .serverStreaming, .clientStreaming, .bidirectionalStreaming])
        XCTAssertTrue(echo.allSatisfy { $0.requestType == Grpch2_Test_EchoRequest.self && $0.responseType == Grpch2_Test_EchoResponse.self })
        XCTAssertEqual(echo[0], Grpch2_Test_Echo.unary.info)
        XCTAssertEqual(echo[3].description, "/grpch2.test.Echo/BidiStream (bidirectionalStreaming): grpch2.test.EchoRequest -> grpch2.test.EchoResponse")
        XCTAssertTrue(CallKind.bidirectionalStreaming.isClientStreaming && CallKind.bidirectionalStreaming.isServerStreaming)
        XCTAssertFalse(CallKind.serverStreaming.isClientStreaming)
    }

    func testProtoFilesListTheServicesOfEachFile() {
        XCTAssertEqual(Grpch2_Test_ProtoFiles.all, [ProtoFileInfo(name: "grpch2/test/echo.proto", package: "grpch2.test", serviceNames: ["grpch2.test.Echo"])])
        XCTAssertEqual(Grpc_Health_V1_ProtoFiles.all.flatMap(\.serviceNames), ["grpc.health.v1.Health"])
        XCTAssertEqual(Google_Protobuf_ProtoFiles.all.map(\.name), [
            "google/protobuf/any.proto", "google/protobuf/duration.proto", "google/protobuf/empty.proto",
            "google/protobuf/struct.proto", "google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto",
        ])
        XCTAssertTrue(Google_Protobuf_ProtoFiles.all.allSatisfy(\.serviceNames.isEmpty))
    }
}
