import XCTest

@testable import GRPCH2Core

final class WebResponseEncoderTests: XCTestCase {
    private func encoder(_ contentType: String) throws -> WebResponseEncoder {
        WebResponseEncoder(kind: try XCTUnwrap(WebRequestKind(contentType: contentType)), path: "/s/M", transcoder: nil, maxMessageSize: 8)
    }

    private func field(_ head: WebResponseEncoder.Head?, _ name: String) -> String? {
        head?.fields.first { $0.0 == name }?.1
    }

    func testConnectUnarySuccessIsTheBareMessageWithLengthAndTrailerHeaders() throws {
        var trailing = Metadata()
        trailing.addString("t1", forKey: "x-trace-id")
        let e = try encoder("application/proto")
        let (head, body) = e.end(error: nil, messages: [try e.message([7, 8])], initial: Metadata(), trailing: trailing, headSent: false)
        XCTAssertEqual(head?.status, 200)
        XCTAssertEqual(field(head, "content-type"), "application/proto")
        XCTAssertEqual(field(head, "content-length"), "2")
        XCTAssertEqual(field(head, "trailer-x-trace-id"), "t1")
        XCTAssertEqual(body, [7, 8])
    }

    func testConnectUnaryErrorIsJSONWithTheCodesHTTPStatus() throws {
        let (head, body) = try encoder("application/proto").end(
            error: RPCError(code: .unavailable, message: "down"), messages: [[1]], initial: Metadata(), trailing: Metadata(), headSent: false)
        XCTAssertEqual(head?.status, 503)
        XCTAssertEqual(field(head, "content-type"), "application/json")
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"code":"unavailable","message":"down"}"#)
    }

    func testGRPCWebTextEncodesEachChunkPadded() throws {
        let e = try encoder("application/grpc-web-text")
        let message = try e.message([1])
        XCTAssertEqual(String(decoding: message, as: UTF8.self), Base64.encode(WebEnvelope.frame([1]), padded: true))
        let (head, body) = e.end(error: nil, messages: [], initial: Metadata(), trailing: Metadata(), headSent: true)
        XCTAssertNil(head, "the head went with the first message")
        XCTAssertEqual(try WebEnvelope.decodeText(body), WebEnvelope.grpcWebTrailers(status: nil, trailing: Metadata()))
    }

    func testConnectStreamingEndsWithTheEndOfStreamMessage() throws {
        let e = try encoder("application/connect+proto")
        let (head, body) = e.end(error: DeadlineStatus.exceeded, messages: [try e.message([5])], initial: Metadata(),
                                 trailing: Metadata(), headSent: false)
        XCTAssertEqual(head?.status, 200)
        let frames = try WebEnvelope.frames(in: body, maxPayload: 100)
        XCTAssertEqual(frames.map(\.flags), [0, WebEnvelope.connectEndStreamFlag])
        XCTAssertEqual(String(decoding: frames[1].payload, as: UTF8.self),
                       #"{"error":{"code":"deadline_exceeded","message":"deadline exceeded"}}"#)
    }

    /// A stand-in compressor that marks its output, so the tests see which bytes went through it.
    private static let mark: @Sendable ([UInt8]) -> [UInt8] = { [0xC0] + $0.prefix(3) }

    private func gzipping(_ contentType: String) throws -> WebResponseEncoder {
        WebResponseEncoder(kind: try XCTUnwrap(WebRequestKind(contentType: contentType)), path: "/s/M", transcoder: nil,
                           maxMessageSize: 4096, gzip: Self.mark)
    }

    func testCompressionAppliesFromTheThresholdAndIsNamedInEachProtocolsHeader() throws {
        let big = [UInt8](repeating: 1, count: WebResponseEncoder.compressionThreshold)
        let small = [UInt8](repeating: 1, count: WebResponseEncoder.compressionThreshold - 1)
        let unary = try gzipping("application/proto")
        var (head, body) = unary.end(error: nil, messages: [try unary.message(big)], initial: Metadata(), trailing: Metadata(), headSent: false)
        XCTAssertEqual(field(head, "content-encoding"), "gzip")
        XCTAssertEqual(body, [0xC0, 1, 1, 1])
        XCTAssertEqual(field(head, "content-length"), "4")
        (head, body) = unary.end(error: nil, messages: [try unary.message(small)], initial: Metadata(), trailing: Metadata(), headSent: false)
        XCTAssertNil(field(head, "content-encoding"))
        XCTAssertEqual(body, small)
        XCTAssertEqual(field(head, "accept-encoding"), "gzip")

        for (contentType, header) in [("application/connect+proto", "connect-content-encoding"), ("application/grpc-web", "grpc-encoding")] {
            let e = try gzipping(contentType)
            XCTAssertEqual(field(e.head(initial: Metadata()), header), "gzip")
            let frames = try WebEnvelope.frames(in: try e.message(big) + e.message(small), maxPayload: 4096)
            XCTAssertEqual(frames.map(\.flags), [WebEnvelope.compressedFlag, 0])
            XCTAssertEqual(frames.map(\.payload), [[0xC0, 1, 1, 1], small])
        }
        XCTAssertNil(field(try encoder("application/grpc-web").head(initial: Metadata()), "grpc-encoding"),
                     "no compression when the client did not accept it")
    }

    func testOversizedAndUntranscodableMessagesAreRefused() throws {
        XCTAssertThrowsError(try encoder("application/proto").message([UInt8](repeating: 0, count: 9))) {
            XCTAssertEqual(($0 as? RPCError)?.code, .resourceExhausted)
        }
        XCTAssertThrowsError(try encoder("application/json").message([1])) { XCTAssertEqual(($0 as? RPCError)?.code, .unimplemented) }
    }

    func testCORSExposesTheResponsesOwnHeaders() {
        let head = WebResponseEncoder.Head(status: 200, fields: [("content-type", "application/json"), ("x-trace-id", "1")])
        let fields = Dictionary(uniqueKeysWithValues: WebResponseEncoder.corsFields(origin: "https://a.example", exposing: head))
        XCTAssertEqual(fields["access-control-allow-origin"], "https://a.example")
        XCTAssertEqual(fields["vary"], "origin")
        XCTAssertEqual(fields["access-control-expose-headers"], "grpc-status, grpc-message, grpc-status-details-bin, x-trace-id")
        XCTAssertNil(Dictionary(uniqueKeysWithValues: WebResponseEncoder.corsFields(origin: "*", exposing: nil))["vary"])
    }
}
