import XCTest

@testable import GRPCH2Core

final class WebEnvelopeTests: XCTestCase {
    func testFramesRoundTrip() throws {
        var body = WebEnvelope.frame([1, 2, 3])
        WebEnvelope.append([], flags: WebEnvelope.connectEndStreamFlag, to: &body)
        XCTAssertEqual(body, [0, 0, 0, 0, 3, 1, 2, 3, 2, 0, 0, 0, 0])
        let frames = try WebEnvelope.frames(in: body, maxPayload: 10)
        XCTAssertEqual(frames, [.init(flags: 0, payload: [1, 2, 3]), .init(flags: 2, payload: [])])
    }

    func testTruncatedAndOversizedFramesAreTheClientsError() {
        XCTAssertThrowsError(try WebEnvelope.frames(in: [0, 0, 0], maxPayload: 10)) { XCTAssertEqual(($0 as? RPCError)?.code, .invalidArgument) }
        XCTAssertThrowsError(try WebEnvelope.frames(in: [0, 0, 0, 0, 5, 1], maxPayload: 10)) { XCTAssertEqual(($0 as? RPCError)?.code, .invalidArgument) }
        XCTAssertThrowsError(try WebEnvelope.frames(in: [0, 0, 0, 0, 11] + [UInt8](repeating: 0, count: 11), maxPayload: 10)) {
            XCTAssertEqual(($0 as? RPCError)?.code, .resourceExhausted)
        }
    }

    func testGRPCWebTrailerBlockCarriesStatusDetailsAndMetadata() {
        var trailing = Metadata()
        trailing.addString("abc", forKey: "x-trace-id")
        trailing.addString("forged", forKey: "grpc-status")  // reserved: never sent
        let error = RPCError(code: .notFound, message: "no such session ✓", statusDetails: [1, 2])
        let frame = WebEnvelope.grpcWebTrailers(status: error, trailing: trailing)
        XCTAssertEqual(frame.first, WebEnvelope.grpcWebTrailersFlag)
        let text = String(decoding: frame.dropFirst(5), as: UTF8.self)
        XCTAssertEqual(text, "grpc-status: 5\r\ngrpc-message: no such session %E2%9C%93\r\ngrpc-status-details-bin: AQI\r\nx-trace-id: abc\r\n")
        let ok = String(decoding: WebEnvelope.grpcWebTrailers(status: nil, trailing: Metadata()).dropFirst(5), as: UTF8.self)
        XCTAssertEqual(ok, "grpc-status: 0\r\n")
    }

    func testTextBodiesAreConcatenatedPaddedBase64Chunks() throws {
        let a = WebEnvelope.frame([1]), b = WebEnvelope.frame([2, 3])
        let text = Array((Base64.encode(a, padded: true) + Base64.encode(b, padded: true) + "\r\n").utf8)
        XCTAssertEqual(try WebEnvelope.decodeText(text), a + b)
        XCTAssertThrowsError(try WebEnvelope.decodeText(Array("!!!!".utf8)))
    }
}
