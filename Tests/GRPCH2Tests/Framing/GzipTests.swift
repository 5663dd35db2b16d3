import XCTest

@testable import GRPCH2

final class GzipTests: XCTestCase {
    func testGzipRoundTripsAndRefusesToInflatePastTheLimit() throws {
        let text = Array(repeating: Array("kato gzip ".utf8), count: 1000).flatMap { $0 }
        let compressed = Gzip.compress(text)
        XCTAssertLessThan(compressed.count, text.count / 10)
        XCTAssertEqual(try Gzip.decompress(compressed, limit: text.count), text)
        XCTAssertThrowsError(try Gzip.decompress(compressed, limit: 100))
        XCTAssertThrowsError(try Gzip.decompress([1, 2, 3, 4], limit: 100))
    }
}
