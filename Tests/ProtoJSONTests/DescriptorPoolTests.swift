import ProtoJSON
import XCTest

final class DescriptorPoolTests: XCTestCase {
    func testIndexesMessagesEnumsServicesAndMapEntries() throws {
        let observe = try katoPool.message("kato.v2.ObserveRequest")
        XCTAssertEqual(observe.field(number: 1)?.jsonName, "sessionId")
        XCTAssertEqual(observe.field(jsonKey: "session_id")?.number, 1)
        XCTAssertEqual(observe.field(jsonKey: "sessionId")?.number, 1)
        let emotives = try XCTUnwrap(observe.field(number: 5))
        XCTAssertTrue(try katoPool.message(emotives.typeName).isMapEntry)
        XCTAssertEqual(try katoPool.enumeration(".kato.v2.StmMode").value(named: "STM_MODE_ROLLING")?.number, 2)
        XCTAssertEqual(katoPool.method("kato.v2.ObserveService/Observe")?.callPath, "/kato.v2.ObserveService/Observe")
        XCTAssertEqual(katoPool.method("kato.v2.ObserveService.ObserveStream")?.clientStreaming, true)
        XCTAssertEqual(katoPool.files["kato/v2/types.proto"]?.syntax, "proto3")
    }

    func testAMissingTypeIsATypedErrorNamingIt() {
        XCTAssertThrowsError(try katoPool.message(".kato.v2.Nope")) { error in
            XCTAssertEqual((error as? MissingDescriptor)?.name, "kato.v2.Nope")
        }
    }

    func testWellKnownTypesAreAddedOnlyWhereMissing() {
        var pool = DescriptorPool()
        pool.addWellKnownTypes()
        for name in ["google.protobuf.Any", "google.protobuf.Struct", "google.protobuf.Timestamp", "google.protobuf.Duration",
                     "google.protobuf.FieldMask", "google.protobuf.Empty", "google.protobuf.Int64Value", "google.rpc.Status"] {
            XCTAssertNotNil(pool.messages[name], name)
        }
        let before = pool.files.count
        pool.addWellKnownTypes()
        XCTAssertEqual(pool.files.count, before)
    }

    func testMalformedDescriptorBytesAreRejected() {
        var pool = DescriptorPool()
        XCTAssertThrowsError(try pool.add(fileDescriptorSet: [0x0A, 0x03, 0x0A]))
    }

    func testDefaultJSONNameIsProtocsLowerCamelCase() {
        XCTAssertEqual(defaultJSONName("global_normalized_entropy"), "globalNormalizedEntropy")
        XCTAssertEqual(defaultJSONName("snr"), "snr")
    }
}
