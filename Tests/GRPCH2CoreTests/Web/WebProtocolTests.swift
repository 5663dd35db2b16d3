import XCTest

@testable import GRPCH2Core
import ProtobufCBridge

final class WebProtocolTests: XCTestCase {
    func testContentTypesNameTheirProtocolAndCodec() {
        let cases: [(String, WebProtocol, WebCodec)] = [
            ("application/grpc-web", .grpcWeb(text: false), .proto),
            ("application/grpc-web+proto", .grpcWeb(text: false), .proto),
            ("application/grpc-web+json", .grpcWeb(text: false), .json),
            ("application/grpc-web-text", .grpcWeb(text: true), .proto),
            ("Application/GRPC-Web-Text+proto", .grpcWeb(text: true), .proto),
            ("application/json", .connectUnary, .json),
            ("application/json; charset=utf-8", .connectUnary, .json),
            ("application/proto", .connectUnary, .proto),
            ("application/connect+json", .connectStreaming, .json),
            ("application/connect+proto", .connectStreaming, .proto),
        ]
        for (type, webProtocol, codec) in cases {
            XCTAssertEqual(WebRequestKind(contentType: type), WebRequestKind(webProtocol: webProtocol, codec: codec), type)
        }
    }

    func testGRPCAndUnknownContentTypesAreNotWebProtocols() {
        for type in ["application/grpc", "application/grpc+proto", "text/plain", "", "application/jsonx", "application/connect"] {
            XCTAssertNil(WebRequestKind(contentType: type), type)
        }
    }

    func testResponseContentTypeFollowsTheRequest() {
        XCTAssertEqual(WebRequestKind(contentType: "application/grpc-web")?.responseContentType, "application/grpc-web+proto")
        XCTAssertEqual(WebRequestKind(contentType: "application/grpc-web-text")?.responseContentType, "application/grpc-web-text+proto")
        XCTAssertEqual(WebRequestKind(contentType: "application/json; charset=utf-8")?.responseContentType, "application/json")
        XCTAssertEqual(WebRequestKind(contentType: "application/connect+proto")?.responseContentType, "application/connect+proto")
    }

    func testConnectTimeoutIsMillisecondsOfAtMostTenDigits() throws {
        let connect = try XCTUnwrap(WebRequestKind(contentType: "application/json"))
        XCTAssertEqual(try connect.timeout(from: { $0 == "connect-timeout-ms" ? "1500" : nil }).get(), .milliseconds(1500))
        XCTAssertNil(try connect.timeout(from: { _ in nil }).get())
        for bad in ["", "-1", "1.5", "12345678901", "1e3"] {
            guard case .failure(let error) = connect.timeout(from: { $0 == "connect-timeout-ms" ? bad : nil }) else {
                return XCTFail("accepted '\(bad)'")
            }
            XCTAssertEqual(error.code, .invalidArgument)
        }
        // Connect ignores grpc-timeout; gRPC-Web reads it.
        XCTAssertNil(try connect.timeout(from: { $0 == "grpc-timeout" ? "1S" : nil }).get())
        let grpcWeb = try XCTUnwrap(WebRequestKind(contentType: "application/grpc-web"))
        XCTAssertEqual(try grpcWeb.timeout(from: { $0 == "grpc-timeout" ? "2S" : nil }).get(), .seconds(2))
    }

    func testStreamingRequestsAndMismatchedKindsAreRefused() throws {
        let unary = try XCTUnwrap(WebRequestKind(contentType: "application/json"))
        let streaming = try XCTUnwrap(WebRequestKind(contentType: "application/connect+json"))
        let grpcWeb = try XCTUnwrap(WebRequestKind(contentType: "application/grpc-web"))
        XCTAssertNil(unary.refusal(for: .unary, path: "/s/M"))
        XCTAssertNil(streaming.refusal(for: .serverStreaming, path: "/s/M"))
        XCTAssertNil(grpcWeb.refusal(for: .unary, path: "/s/M"))
        XCTAssertNil(grpcWeb.refusal(for: .serverStreaming, path: "/s/M"))
        XCTAssertEqual(unary.refusal(for: .serverStreaming, path: "/s/M")?.code, .unimplemented)
        XCTAssertEqual(streaming.refusal(for: .unary, path: "/s/M")?.code, .unimplemented)
        for kind in [unary, streaming, grpcWeb] {
            for callKind in [CallKind.clientStreaming, .bidirectionalStreaming] {
                let refusal = kind.refusal(for: callKind, path: "/s/M")
                XCTAssertEqual(refusal?.code, .unimplemented)
                XCTAssertTrue(refusal?.message.contains("HTTP/2") ?? false)
            }
        }
    }

    func testGzipIsAcceptedFromEachProtocolsOwnHeaderUnlessWeightedZero() throws {
        let unary = try XCTUnwrap(WebRequestKind(contentType: "application/json"))
        let streaming = try XCTUnwrap(WebRequestKind(contentType: "application/connect+proto"))
        let grpcWeb = try XCTUnwrap(WebRequestKind(contentType: "application/grpc-web"))
        func accepts(_ kind: WebRequestKind, _ headers: [String: String]) -> Bool { kind.acceptsGzip(header: { headers[$0] }) }
        XCTAssertTrue(accepts(unary, ["accept-encoding": "gzip, deflate, br"]))
        XCTAssertTrue(accepts(unary, ["accept-encoding": "br;q=1.0, GZIP;q=0.5"]))
        XCTAssertFalse(accepts(unary, ["accept-encoding": "gzip;q=0, br"]))
        XCTAssertFalse(accepts(unary, ["accept-encoding": "gzip; q=0.000"]))
        XCTAssertFalse(accepts(unary, ["accept-encoding": "x-gzip2"]))
        XCTAssertFalse(accepts(unary, ["connect-accept-encoding": "gzip"]), "unary reads accept-encoding")
        XCTAssertTrue(accepts(streaming, ["connect-accept-encoding": "gzip"]))
        XCTAssertFalse(accepts(streaming, ["accept-encoding": "gzip"]), "streaming reads connect-accept-encoding")
        XCTAssertTrue(accepts(grpcWeb, ["grpc-accept-encoding": "identity,gzip"]))
        XCTAssertFalse(accepts(grpcWeb, [:]))
    }
}
