import Foundation
import KatoFuzz
import XCTest

/// Every committed seed (`Fuzz/Corpus/<target>/`) and crash reproducer
/// (`Fuzz/Crashes/<target>/`) through the same entry functions libFuzzer runs, in the ordinary
/// debug build: a fixed bug that comes back traps here in `make test`. (docs/FUZZING.md)
final class CorpusReplayTests: XCTestCase {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) throws -> [URL] {
        let dir = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Replays the target's corpus (which must not be empty) and its crash reproducers.
    func replay(_ target: FuzzTarget, file: StaticString = #filePath, line: UInt = #line) throws {
        let corpus = try Self.inputs("Corpus", target)
        XCTAssertFalse(corpus.isEmpty, "no committed corpus for \(target.rawValue)", file: file, line: line)
        for url in corpus + (try Self.inputs("Crashes", target)) {
            target.run([UInt8](try Data(contentsOf: url)))
        }
    }

    func testConnectionCorpusAndReproducersRunClean() throws { try replay(.connection) }
    func testGRPCMessagesCorpusAndReproducersRunClean() throws { try replay(.grpcMessages) }
    func testProtoJSONCorpusAndReproducersRunClean() throws { try replay(.protoJSON) }
    func testConfigFilesCorpusAndReproducersRunClean() throws { try replay(.configFiles) }
    func testRecordCodecCorpusAndReproducersRunClean() throws { try replay(.recordCodec) }
}
