import Foundation
import KatoProto
import ProtoJSON
import ProtobufCBridge
import StrictJSON
import XCTest

/// Round trips against Google's protobuf runtime (protoc-generated Python stubs and
/// json_format, Fixtures/make-fixtures.py) and against libprotobuf-c (KatoProto).
final class ProtoJSONCodecTests: XCTestCase {
    let codec = ProtoJSONCodec(pool: katoPool)

    func testBinaryFromProtobufPrintsAsProtobufsJSON() throws {
        for name in ProtobufFixture.all {
            let f = try ProtobufFixture(name)
            let json = try codec.jsonValue(fromBinary: f.binary, messageType: f.type)
            assertJSONEquivalent(json, f.json, name)
        }
    }

    func testProtobufsJSONEncodesToTheSameMessage() throws {
        for name in ProtobufFixture.all {
            let f = try ProtobufFixture(name)
            let bytes = try codec.binary(from: f.json, messageType: f.type)
            // Map entries may come in another order than protobuf's deterministic (sorted)
            // output, so compare what the bytes mean, through the codec and through protobuf-c.
            assertJSONEquivalent(try codec.jsonValue(fromBinary: bytes, messageType: f.type), f.json, name)
            XCTAssertEqual(bytes.count, f.binary.count, name)
        }
        // Without maps the bytes are the same, byte for byte.
        for name in ["session", "empty_observe_request"] {
            let f = try ProtobufFixture(name)
            XCTAssertEqual(try codec.binary(from: f.json, messageType: f.type), f.binary, name)
        }
    }

    func testProtobufCReadsWhatTheCodecWrites() throws {
        let f = try ProtobufFixture("get_predictions_response")
        let bytes = try codec.binary(from: f.json, messageType: f.type)
        let decoded = try Kato_V2_GetPredictionsResponse(serializedBytes: bytes)
        let reference = try Kato_V2_GetPredictionsResponse(serializedBytes: f.binary)
        XCTAssertEqual(decoded.predictions.count, 100)
        XCTAssertEqual(decoded.predictions.map(\.name), reference.predictions.map(\.name))
        XCTAssertEqual(decoded.predictions.map(\.similarity), reference.predictions.map(\.similarity))
        XCTAssertEqual(decoded.predictions.map(\.emotives), reference.predictions.map(\.emotives))
        let observe = try ProtobufFixture("observe_request")
        let request = try Kato_V2_ObserveRequest(serializedBytes: try codec.binary(from: observe.json, messageType: observe.type))
        XCTAssertEqual(request.strings, ["hello", "wörld", "tab\there", "quote\"back\\slash", "<img src=x>"])
        XCTAssertEqual(request.emotives, ["joy": 0.75, "fear": -1.0])
    }

    func testJSONTextInCompactTextOut() throws {
        let bytes = try codec.binary(fromJSON: Array(#"{"node_id": "n1", "ttlSeconds": "60"}"#.utf8), messageType: "kato.v2.CreateSessionRequest")
        let text = String(decoding: try codec.json(fromBinary: bytes, messageType: "kato.v2.CreateSessionRequest"), as: UTF8.self)
        XCTAssertEqual(text, #"{"nodeId":"n1","ttlSeconds":"60"}"#)
    }

    func testEveryFailureIsOneTypedErrorThatNamesTheProblem() {
        func kind(_ json: String, _ type: String = "kato.v2.CreateSessionRequest") -> CodecError? {
            do {
                _ = try codec.binary(fromJSON: Array(json.utf8), messageType: type)
                return nil
            } catch {
                return error
            }
        }
        XCTAssertEqual(kind("{").map(\.kind), .invalidJSON)
        XCTAssertEqual(kind(#"{"nodeID": "x"}"#).map(\.kind), .unknownField)
        XCTAssertTrue(kind(#"{"nodeID": "x"}"#)!.message.contains(#""nodeID""#))
        XCTAssertEqual(kind("{}", "kato.v2.NoSuchMessage").map(\.kind), .unknownType)
        XCTAssertThrowsError(try codec.json(fromBinary: [0x0A, 0x05], messageType: "kato.v2.Session")) { error in
            XCTAssertEqual((error as? CodecError)?.kind, .malformedBinary)
        }
    }

    func testIgnoringUnknownFieldsIsAnOption() throws {
        var lenient = codec
        lenient.options.ignoreUnknownFields = true
        let bytes = try lenient.binary(fromJSON: Array(#"{"nodeId": "n1", "future": {"x": 1}, "config": {"stmMode": "STM_MODE_FUTURE"}}"#.utf8),
                                       messageType: "kato.v2.CreateSessionRequest")
        XCTAssertEqual(try lenient.jsonValue(fromBinary: bytes, messageType: "kato.v2.CreateSessionRequest"),
                       .object([("nodeId", .string("n1")), ("config", .object([]))]))
    }

    func testBuildsFromADescriptorSetWithWellKnownTypesFilledIn() throws {
        let set = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("kato.pb")))
        let codec = try ProtoJSONCodec(fileDescriptorSet: set, options: .init(emitDefaults: true))
        XCTAssertNotNil(codec.pool.messages["google.rpc.Status"])
        let json = try codec.jsonValue(fromBinary: [], messageType: "kato.v2.GetPredictionsRequest")
        XCTAssertEqual(json, .object([("sessionId", .string("")), ("nodeId", .string(""))]))
        XCTAssertThrowsError(try ProtoJSONCodec(fileDescriptorSet: [0x0A, 0x09]))
    }
}
