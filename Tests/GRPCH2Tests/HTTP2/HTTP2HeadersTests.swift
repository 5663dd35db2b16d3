import XCTest

@testable import GRPCH2

/// Prepared headers hand nghttp2 exactly the fields they were made of (names and values by
/// length, no terminator assumed); outbound headers put the prepared fields before the extra.
final class HTTP2HeadersTests: XCTestCase {
    static func text(_ pointer: UnsafeMutablePointer<UInt8>, _ count: Int) -> String {
        String(decoding: UnsafeBufferPointer<UInt8>(start: UnsafePointer(pointer), count: count), as: UTF8.self)
    }

    func testPreparedHeadersHoldEachFieldsBytesInOrder() {
        let fields = [HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"), HeaderField("x-empty", "")]
        let prepared = PreparedHeaders(fields)
        XCTAssertEqual(prepared.fields, fields)
        let read = (0..<fields.count).map { i -> HeaderField in
            let nv = prepared.nva[i]
            return HeaderField(Self.text(nv.name, nv.namelen), Self.text(nv.value, nv.valuelen))
        }
        XCTAssertEqual(read, fields)
    }

    func testNoFieldsIsEmptyAndPreparedComeBeforeExtra() {
        XCTAssertTrue(OutboundHeaders(extra: []).isEmpty)
        XCTAssertTrue(OutboundHeaders(prepared: PreparedHeaders([])).isEmpty)
        let headers = OutboundHeaders(prepared: PreparedHeaders([HeaderField("grpc-status", "0")]), extra: [HeaderField("x-a", "1")])
        XCTAssertFalse(headers.isEmpty)
        XCTAssertEqual(headers.fields.map(\.name), ["grpc-status", "x-a"])
        let literal: OutboundHeaders = [HeaderField("x-b", "2")]
        XCTAssertEqual(literal.fields, [HeaderField("x-b", "2")])
        XCTAssertNil(literal.prepared)
    }
}
