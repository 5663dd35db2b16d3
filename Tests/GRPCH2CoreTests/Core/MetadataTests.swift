import Foundation
import XCTest

@testable import GRPCH2Core

final class MetadataTests: XCTestCase {
    func testMetadataKeysAreCaseInsensitiveBeyondASCII() {
        var m = Metadata()
        m.addString("1", forKey: "X-Ä")
        m.addString("2", forKey: "x-plain")
        m.addString("3", forKey: "\u{212A}eep-alive")  // KELVIN SIGN lower-cases to "k"
        XCTAssertEqual(m.firstString(forKey: "x-ä"), "1")
        XCTAssertEqual(m.firstString(forKey: "X-Ä"), "1")
        XCTAssertEqual(m.firstString(forKey: "X-PLAIN"), "2")
        XCTAssertEqual(m.firstString(forKey: "keep-alive"), "3")
        XCTAssertEqual(Array(m).map(\.key), ["x-ä", "x-plain", "keep-alive"])
        XCTAssertTrue(Metadata.isReserved(Array(m)[2].key))
    }
}
