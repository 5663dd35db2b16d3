import ProtoJSON
import XCTest

@testable import GRPCH2Core

/// JSON web calls reach the binary handlers through the transcoder: a request's JSON becomes
/// the method's input message, a response its output message's JSON; what it cannot map is a
/// status that says why (INVALID_ARGUMENT for the client's JSON, INTERNAL for the server's
/// response, UNIMPLEMENTED for a method it has no descriptor of).
final class MessageTranscoderTests: XCTestCase {
    static let transcoder = MessageTranscoder(codec: try! ProtoJSONCodec(fileDescriptorSet: CoreTestSupport.descriptorSet))
    static let create = "/kato.v2.SessionService/CreateSession"

    func testARequestsJSONBecomesTheMethodsInputMessage() throws {
        let binary = try Self.transcoder.request(fromJSON: Array(#"{"nodeId": "n1", "ttlSeconds": "60"}"#.utf8), path: Self.create)
        // CreateSessionRequest: node_id = 1 (string), ttl_seconds = 2 (int64).
        XCTAssertEqual(binary, [0x0A, 0x02, 0x6E, 0x31, 0x10, 60])
    }

    func testAnEmptyOrBlankBodyIsTheEmptyMessage() throws {
        XCTAssertEqual(try Self.transcoder.request(fromJSON: [], path: Self.create), [])
        XCTAssertEqual(try Self.transcoder.request(fromJSON: Array(" \r\n\t".utf8), path: Self.create), [])
    }

    func testAResponseBecomesTheMethodsOutputMessageInJSON() throws {
        // Session: session_id = 1, stm_length = 8.
        let json = try Self.transcoder.response(toJSON: [0x0A, 0x01, 0x73, 0x40, 0x03], path: Self.create)
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"{"sessionId":"s","stmLength":"3"}"#)
    }

    func testJSONThatIsNotTheInputMessageIsInvalidArgumentNamingTheType() {
        for body in [#"{"nodeId": 5}"#, #"{"noSuchField": 1}"#, "not json"] {
            XCTAssertThrowsError(try Self.transcoder.request(fromJSON: Array(body.utf8), path: Self.create), body) { error in
                let status = error as? RPCError
                XCTAssertEqual(status?.code, .invalidArgument, body)
                XCTAssertTrue(status?.message.hasPrefix("request is not a valid kato.v2.CreateSessionRequest in JSON") ?? false,
                              status?.message ?? "")
                XCTAssertNotNil(status?.cause, "the codec's error is kept as the cause")
            }
        }
    }

    func testAResponseThatCannotBeReadIsInternal() {
        XCTAssertThrowsError(try Self.transcoder.response(toJSON: [0x0A, 0x09], path: Self.create)) { error in
            XCTAssertEqual((error as? RPCError)?.code, .internalError)
        }
    }

    func testAMethodWithoutADescriptorIsUnimplemented() {
        for path in ["/test.Nope/Call", "/kato.v2.SessionService/NoSuchMethod"] {
            XCTAssertThrowsError(try Self.transcoder.request(fromJSON: Array("{}".utf8), path: path)) { error in
                XCTAssertEqual((error as? RPCError)?.code, .unimplemented, path)
            }
        }
    }
}
