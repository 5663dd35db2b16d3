import Foundation
import XCTest

/// The golden vectors recorded from KATO v2.0.0 live in the repository
/// (`Tests/Fixtures/golden/`, format in its README), so a clone alone runs every case.
/// `KATO_GOLDEN_DIR` overrides the directory; `../shared/golden` beside the clone is only a
/// cross-check of the repository's copy.
enum GoldenFixtures {
    static let repositoryCopy = repositoryRoot.appendingPathComponent("Tests/Fixtures/golden")
    static let sharedCopy = repositoryRoot.appendingPathComponent("../shared/golden").standardizedFileURL

    static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["KATO_GOLDEN_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return repositoryCopy
    }

    static func caseFiles(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "jsonl" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Non-empty lines of every `*.jsonl` file: one case each.
    static func caseCount(in directory: URL) throws -> Int {
        try caseFiles(in: directory).reduce(0) { count, file in
            let text = try String(contentsOf: file, encoding: .utf8)
            return count + text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }.count
        }
    }

    /// The `| total | N |` row of the README's file table: the count the recording produced.
    static func recordedTotal(in directory: URL) throws -> Int {
        let readme = try String(contentsOf: directory.appendingPathComponent("README.md"), encoding: .utf8)
        for line in readme.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count == 2, cells[0] == "total", let total = Int(cells[1]) { return total }
        }
        throw MissingTotalRow(readme: directory.appendingPathComponent("README.md").path)
    }

    struct MissingTotalRow: Error, CustomStringConvertible {
        let readme: String
        var description: String { "\(readme) has no '| total | N |' row" }
    }
}

/// Runs the `kato-conformance` executable over the golden vectors and requires every case to pass.
final class GoldenConformanceTests: XCTestCase {
    func testEveryGoldenCaseRecordedInTheRepositoryIsPresent() throws {
        let directory = GoldenFixtures.repositoryCopy
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path), "missing \(directory.path)")
        let total = try GoldenFixtures.recordedTotal(in: directory)
        XCTAssertEqual(total, 112, "README's total row")
        XCTAssertEqual(try GoldenFixtures.caseCount(in: directory), total)
    }

    func testGoldenVectorsAllPass() throws {
        let golden = GoldenFixtures.directory
        let expected = try GoldenFixtures.caseCount(in: golden)
        XCTAssertGreaterThan(expected, 0, "no golden cases in \(golden.path)")
        let executable = try XCTUnwrap(Self.findConformanceExecutable(), "kato-conformance executable not built")
        let process = Process()
        process.executableURL = executable
        process.arguments = [golden.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lastLine = output.split(separator: "\n").last.map(String.init) ?? ""
        // Every case ran and passed: a run over fewer files than recorded cannot pass.
        XCTAssertEqual(lastLine, "\(expected) passed, 0 failed", output)
        XCTAssertEqual(process.terminationStatus, 0, output)
    }

    /// The repository's copy is byte-for-byte the recorded one, where the workspace has it.
    func testRepositoryGoldenCopyEqualsSharedRecording() throws {
        let shared = GoldenFixtures.sharedCopy
        guard FileManager.default.fileExists(atPath: shared.path) else {
            throw XCTSkip("no ../shared/golden beside this clone to cross-check against; the suite runs the repository's copy")
        }
        let names = { (dir: URL) in
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        }
        let repository = GoldenFixtures.repositoryCopy
        XCTAssertEqual(try names(repository), try names(shared), "file lists differ")
        for name in try names(shared) {
            let a = try Data(contentsOf: repository.appendingPathComponent(name))
            let b = try Data(contentsOf: shared.appendingPathComponent(name))
            XCTAssertEqual(a, b, "Tests/Fixtures/golden/\(name) differs from ../shared/golden/\(name)")
        }
    }

    /// The executable sits next to the test bundle in the build directory.
    static func findConformanceExecutable() -> URL? {
        var candidates: [URL] = []
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("kato-conformance"))
            dir = dir.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("kato-conformance"))
        }
        for scratch in [".build-engine", ".build"] {
            candidates.append(repositoryRoot.appendingPathComponent("\(scratch)/debug/kato-conformance"))
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
