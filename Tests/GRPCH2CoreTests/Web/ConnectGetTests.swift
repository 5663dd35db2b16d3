import XCTest

@testable import GRPCH2Core
import ProtobufCBridge

/// Connect GET's query (`ConnectGetRequest`) and the caching fields of its answer.
final class ConnectGetTests: XCTestCase {
    private func parse(_ query: String) -> ConnectGetRequest? { try? ConnectGetRequest.parse(query: query).get() }
    private func error(_ query: String) -> RPCError? {
        if case .failure(let e) = ConnectGetRequest.parse(query: query) { return e }
        return nil
    }

    func testJSONMessageIsPercentDecodedWithPlusAsSpace() {
        let request = parse("connect=v1&encoding=json&message=%7B%22node_id%22%3A+%22n%201%22%7D")
        XCTAssertEqual(request?.kind, WebRequestKind(webProtocol: .connectUnary, codec: .json))
        XCTAssertEqual(request.map { String(decoding: $0.message, as: UTF8.self) }, #"{"node_id": "n 1"}"#)
        XCTAssertNil(request?.compression)
    }

    func testBase64MessageIsURLSafeWithOrWithoutPadding() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0x01]  // base64url "-_8B", standard "+/8B"
        XCTAssertEqual(parse("encoding=proto&base64=1&message=-_8B")?.message, bytes)
        XCTAssertEqual(parse("encoding=proto&base64=1&message=%2B%2F8B")?.message, bytes)
        XCTAssertEqual(parse("encoding=proto&base64=1&message=AQ")?.message, [1])
        XCTAssertEqual(parse("encoding=proto&base64=1&message=AQ%3D%3D")?.message, [1])
        XCTAssertEqual(parse("encoding=proto&base64=1&message=AQ&compression=gzip")?.compression, "gzip")
        XCTAssertEqual(parse("encoding=proto")?.message, [], "no message is the empty message")
    }

    func testUnknownParametersAreIgnoredAndTheFirstOfARepeatedOneWins() {
        XCTAssertEqual(parse("_=123&encoding=json&encoding=proto&message=%7B%7D&x")?.kind.codec, .json)
    }

    func testBadQueriesAreInvalidArgumentNamingWhatIsWrong() {
        for (query, words) in [("message=%7B%7D", "encoding=json"), ("encoding=xml", "encoding=xml"),
                               ("connect=v2&encoding=json", "v1"), ("encoding=json&message=%zz", "message"),
                               ("encoding=proto&base64=1&message=%25", "base64"), ("encoding=proto&base64=yes", "base64=yes")] {
            let e = error(query)
            XCTAssertEqual(e?.code, .invalidArgument, query)
            XCTAssertTrue(e?.message.contains(words) ?? false, "\(query): \(e?.message ?? "no error")")
        }
    }

    func testOnlyUnaryMethodsWithoutSideEffectsMayBeCalledWithGET() {
        XCTAssertNil(ConnectGetRequest.refusal(for: .unary, path: "/s/M", hasNoSideEffects: true))
        let sideEffects = ConnectGetRequest.refusal(for: .unary, path: "/s/M", hasNoSideEffects: false)
        XCTAssertTrue(sideEffects?.cause is ConnectGetRequest.MethodNotAllowed)
        let streaming = ConnectGetRequest.refusal(for: .serverStreaming, path: "/s/M", hasNoSideEffects: true)
        XCTAssertEqual(streaming?.code, .unimplemented)
        XCTAssertFalse(streaming?.cause is ConnectGetRequest.MethodNotAllowed)
    }

    func testAGETAnswerCarriesCachingFieldsAndRevalidatesTo304() {
        var encoder = WebResponseEncoder(kind: WebRequestKind(webProtocol: .connectUnary, codec: .proto), path: "/s/M",
                                         transcoder: nil, maxMessageSize: 1 << 20)
        encoder.isGet = true
        let (head, body) = encoder.end(error: nil, messages: [[1, 2, 3]], initial: Metadata(), trailing: Metadata(), headSent: false)
        let fields = Dictionary(head!.fields, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(head?.status, 200)
        XCTAssertEqual(body, [1, 2, 3])
        XCTAssertEqual(fields["etag"], WebResponseEncoder.etag([1, 2, 3]))
        XCTAssertEqual(fields["cache-control"], "private, no-cache")
        encoder.ifNoneMatch = #"W/"x", "# + fields["etag"]!
        let (notModified, empty) = encoder.end(error: nil, messages: [[1, 2, 3]], initial: Metadata(), trailing: Metadata(), headSent: false)
        XCTAssertEqual(notModified?.status, 304)
        XCTAssertEqual(empty, [])
        XCTAssertNotEqual(WebResponseEncoder.etag([1, 2, 3]), WebResponseEncoder.etag([1, 2, 4]))
    }

    func testARefusedGETIs405AllowPOSTAndNotStored() {
        var encoder = WebResponseEncoder(kind: WebRequestKind(webProtocol: .connectUnary, codec: .json), path: "/s/M",
                                         transcoder: nil, maxMessageSize: 1 << 20)
        encoder.isGet = true
        let refusal = ConnectGetRequest.refusal(for: .unary, path: "/s/M", hasNoSideEffects: false)
        let (head, _) = encoder.end(error: refusal, messages: [], initial: Metadata(), trailing: Metadata(), headSent: false)
        let fields = Dictionary(head!.fields, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(head?.status, 405)
        XCTAssertEqual(fields["allow"], "POST")
        XCTAssertEqual(fields["cache-control"], "no-store")
    }
}
