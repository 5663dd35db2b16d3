import Foundation
import GRPCH2Core
import XCTest

@testable import GRPCH2

/// A web call's request body → the one binary message its handler reads, for each protocol's
/// form (gRPC-Web binary and text, Connect unary and streaming), with every malformed body a
/// status that names what was wrong.
final class WebRequestDecodingTests: XCTestCase {
    static let message: [UInt8] = [0x0A, 0x03, 0x61, 0x62, 0x63]

    static func decode(_ contentType: String, _ body: [UInt8], headers: [String: String] = [:], max: Int = 1024) throws(RPCError) -> [UInt8] {
        let decoding = WebRequestDecoding(kind: WebRequestKind(contentType: contentType)!, path: "/test.Echo/Unary",
                                          maxMessageSize: max, transcoder: nil)
        return try decoding.message(body: body, header: { headers[$0] })
    }

    static func code(_ contentType: String, _ body: [UInt8], headers: [String: String] = [:], max: Int = 1024) -> StatusCode? {
        do {
            _ = try decode(contentType, body, headers: headers, max: max)
            return nil
        } catch {
            return error.code
        }
    }

    func testEachProtocolsFormGivesTheSameMessage() throws {
        let framed = WebEnvelope.frame(Self.message)
        XCTAssertEqual(try Self.decode("application/grpc-web+proto", framed), Self.message)
        XCTAssertEqual(try Self.decode("application/grpc-web-text", Array(Data(framed).base64EncodedString().utf8)), Self.message)
        XCTAssertEqual(try Self.decode("application/connect+proto", framed), Self.message)
        XCTAssertEqual(try Self.decode("application/proto", Self.message), Self.message, "Connect unary: the bare message")
    }

    func testCompressedBodiesAreInflatedPerTheirProtocolsHeader() throws {
        let gzipped = Gzip.compress(Self.message)
        XCTAssertEqual(try Self.decode("application/grpc-web", WebEnvelope.frame(gzipped, flags: WebEnvelope.compressedFlag),
                                       headers: ["grpc-encoding": "gzip"]), Self.message)
        XCTAssertEqual(try Self.decode("application/connect+proto", WebEnvelope.frame(gzipped, flags: WebEnvelope.compressedFlag),
                                       headers: ["connect-content-encoding": "gzip"]), Self.message)
        XCTAssertEqual(try Self.decode("application/proto", gzipped, headers: ["content-encoding": "gzip"]), Self.message)
    }

    func testAFramedCallNeedsExactlyOneMessage() {
        XCTAssertEqual(Self.code("application/grpc-web", []), .unimplemented)
        XCTAssertEqual(Self.code("application/grpc-web", WebEnvelope.frame(Self.message) + WebEnvelope.frame(Self.message)), .unimplemented)
    }

    func testFlagsAndEncodingsMustMatch() {
        let compressed = WebEnvelope.frame(Gzip.compress(Self.message), flags: WebEnvelope.compressedFlag)
        XCTAssertEqual(Self.code("application/grpc-web", compressed), .internalError, "compressed without grpc-encoding")
        XCTAssertEqual(Self.code("application/grpc-web", compressed, headers: ["grpc-encoding": "identity"]), .internalError)
        XCTAssertEqual(Self.code("application/grpc-web", WebEnvelope.frame(Self.message, flags: 0x40)), .invalidArgument)
        XCTAssertEqual(Self.code("application/proto", Self.message, headers: ["content-encoding": "br"]), .unimplemented)
        XCTAssertEqual(Self.code("application/proto", [1, 2, 3], headers: ["content-encoding": "gzip"]), .invalidArgument)
    }

    func testMessagesOverTheLimitAreResourceExhaustedCompressedOrNot() {
        let big = [UInt8](repeating: 0x61, count: 100)
        XCTAssertEqual(Self.code("application/proto", big, max: 99), .resourceExhausted)
        XCTAssertEqual(Self.code("application/proto", Gzip.compress(big), headers: ["content-encoding": "gzip"], max: 99), .resourceExhausted)
        XCTAssertNil(Self.code("application/proto", big, max: 100))
    }

    func testJSONWithoutATranscoderIsUnimplementedAndSaysToSendProto() throws {
        do {
            _ = try Self.decode("application/json", Array("{}".utf8))
            XCTFail("a server without a transcoder cannot read JSON")
        } catch {
            XCTAssertEqual(error.code, .unimplemented)
            XCTAssertTrue(error.message.contains("application/proto"), error.message)
        }
    }

    func testTheBodyLimitLeavesRoomForBase64AndFraming() {
        XCTAssertEqual(WebRequestDecoding.bodyLimit(maxMessageSize: 300), 464)
        XCTAssertGreaterThanOrEqual(WebRequestDecoding.bodyLimit(maxMessageSize: 4 << 20), (4 << 20) / 3 * 4)
    }
}
