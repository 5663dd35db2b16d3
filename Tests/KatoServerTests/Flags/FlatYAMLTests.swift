import XCTest

@testable import KatoServer

/// The line reader both config-file readers share (start-up settings and the `flags:` section).
final class FlatYAMLTests: XCTestCase {
    func testBlankLinesCommentsAndDocumentMarkersAreSkippedAndLinesKeepTheirNumbers() {
        let lines = FlatYAML.lines("---\n# settings\nport: 50051  # gRPC\n\nflags:\n  v2_sessions: false\n")
        XCTAssertEqual(lines.map(\.number), [3, 5, 6])
        XCTAssertEqual(lines.map(\.text), ["port: 50051", "flags:", "v2_sessions: false"])
        XCTAssertEqual(lines.map(\.indent), [0, 0, 2])
        XCTAssertEqual(lines.map(\.isIndented), [false, false, true])
    }

    func testEntriesSplitAtTheFirstColonAndLoseTheirQuotes() throws {
        let lines = FlatYAML.lines("host: 'a:b'\nname: \"x # not a comment\"\nempty:\nbare: v\nno colon\n")
        let host = try XCTUnwrap(lines[0].entry)
        XCTAssertEqual(host.key, "host")
        XCTAssertEqual(host.value, "a:b")
        XCTAssertTrue(host.quoted)
        XCTAssertEqual(lines[1].entry?.value, "x # not a comment", "a # after a quote is not a comment")
        XCTAssertEqual(lines[2].entry?.value, "")
        XCTAssertEqual(lines[3].entry?.quoted, false)
        XCTAssertNil(lines[4].entry)
    }
}
