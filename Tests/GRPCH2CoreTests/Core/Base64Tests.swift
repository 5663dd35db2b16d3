import Foundation
import XCTest

@testable import GRPCH2Core

final class Base64Tests: XCTestCase {
    func testBinaryMetadataBase64AcceptsPaddedAndUnpadded() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37) }
            let encoded = Base64.encode(bytes)
            XCTAssertFalse(encoded.hasSuffix("="))
            XCTAssertEqual(Base64.decode(encoded), bytes)
            let padded = encoded + String(repeating: "=", count: (4 - encoded.count % 4) % 4)
            XCTAssertEqual(Base64.decode(padded), bytes)
        }
        XCTAssertNil(Base64.decode("a$b="))
    }
}
