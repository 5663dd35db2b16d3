import Foundation
import XCTest

@testable import GRPCH2Core

final class PercentEncodingTests: XCTestCase {
    func testGRPCMessagePercentEncodingRoundTripsUnicodeAndPercent() {
        let text = "not found: ü 100% \n"
        let encoded = PercentEncoding.encode(text)
        XCTAssertEqual(encoded, "not found: %C3%BC 100%25 %0A")
        XCTAssertEqual(PercentEncoding.decode(encoded), text)
        XCTAssertEqual(PercentEncoding.decode("bad %zz escape"), "bad %zz escape")
    }
}
