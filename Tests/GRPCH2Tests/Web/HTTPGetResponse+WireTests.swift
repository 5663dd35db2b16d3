import GRPCH2Core
import XCTest

@testable import GRPCH2

/// A GET route's response as both transports send it: the route's fields less the ones a
/// transport owns, gzip only for a 200 text body of at least the threshold that the client
/// accepts (`vary` whenever it could be), the length always, and HEAD without the body.
final class HTTPGetResponseWireTests: XCTestCase {
    static let text = [UInt8](repeating: 0x61, count: WebResponseEncoder.compressionThreshold)

    static func response(_ status: Int = 200, type: String = "text/plain", body: [UInt8] = text,
                         extra: [(name: String, value: String)] = []) -> HTTPGetResponse {
        HTTPGetResponse(status: status, headers: [("content-type", type)] + extra, body: body)
    }

    static func field(_ fields: [(String, String)], _ name: String) -> String? {
        fields.first { $0.0 == name }?.1
    }

    func testTheTransportsOwnFieldsAreDroppedAndTheLengthIsItsOwn() {
        let wire = Self.response(body: [1, 2, 3], extra: [
            ("content-length", "999"), ("connection", "close"), ("transfer-encoding", "chunked"), ("keep-alive", "5"), ("etag", "\"x\""),
        ]).wireForm(acceptEncoding: nil, head: false)
        XCTAssertEqual(wire.fields.map(\.0), ["content-type", "etag", "content-length"])
        XCTAssertEqual(Self.field(wire.fields, "content-length"), "3")
        XCTAssertEqual(wire.body, [1, 2, 3])
    }

    func testALargeTextBodyIsGzippedWhenAcceptedAndVariesOnAcceptEncoding() throws {
        let wire = Self.response().wireForm(acceptEncoding: "br, gzip;q=0.5", head: false)
        XCTAssertEqual(Self.field(wire.fields, "content-encoding"), "gzip")
        XCTAssertEqual(Self.field(wire.fields, "vary"), "accept-encoding")
        XCTAssertEqual(Self.field(wire.fields, "content-length"), String(wire.body.count))
        XCTAssertEqual(try Gzip.decompress(wire.body, limit: 1 << 20), Self.text)
        let plain = Self.response().wireForm(acceptEncoding: "identity", head: false)
        XCTAssertNil(Self.field(plain.fields, "content-encoding"))
        XCTAssertEqual(Self.field(plain.fields, "vary"), "accept-encoding", "a cache must know the answer depends on it")
        XCTAssertEqual(plain.body, Self.text)
    }

    func testSmallNonTextEncodedOrNonOKBodiesAreSentAsGiven() {
        let cases: [(String, HTTPGetResponse)] = [
            ("small", Self.response(body: Array(Self.text.dropLast()))),
            ("image", Self.response(type: "image/png")),
            ("already encoded", Self.response(extra: [("content-encoding", "br")])),
            ("not found", Self.response(404)),
        ]
        for (name, response) in cases {
            let wire = response.wireForm(acceptEncoding: "gzip", head: false)
            XCTAssertEqual(wire.body, response.body, name)
            XCTAssertNil(Self.field(wire.fields, "vary"), name)
            XCTAssertNotEqual(Self.field(wire.fields, "content-encoding"), "gzip", name)
        }
    }

    func testAHeadAnswerHasTheGETsFieldsAndNoBody() {
        let get = Self.response().wireForm(acceptEncoding: "gzip", head: false)
        let head = Self.response().wireForm(acceptEncoding: "gzip", head: true)
        XCTAssertEqual(head.fields.map(\.0), get.fields.map(\.0))
        XCTAssertEqual(Self.field(head.fields, "content-length"), String(get.body.count))
        XCTAssertEqual(head.body, [])
    }

    func testCompressibleTypesAreTextJSONJavaScriptAndSVG() {
        for type in ["text/html; charset=utf-8", "Application/JSON", "application/javascript", "image/svg+xml"] {
            XCTAssertTrue(HTTPGetResponse.isCompressible(type), type)
        }
        for type in ["image/png", "application/octet-stream", "font/woff2", ""] {
            XCTAssertFalse(HTTPGetResponse.isCompressible(type), type)
        }
    }
}
