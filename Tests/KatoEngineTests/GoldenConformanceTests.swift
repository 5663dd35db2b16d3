import Foundation
import XCTest

/// Runs the `kato-conformance` executable over the golden vectors and requires every case to pass.
final class GoldenConformanceTests: XCTestCase {
    func testGoldenVectorsAllPass() throws {
        let env = ProcessInfo.processInfo.environment
        let golden = env["KATO_GOLDEN_DIR"]
            ?? repositoryRoot.appendingPathComponent("../shared/golden").standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: golden) else {
            throw XCTSkip("golden directory \(golden) not found; set KATO_GOLDEN_DIR")
        }
        let executable = try XCTUnwrap(Self.findConformanceExecutable(), "kato-conformance executable not built")
        let process = Process()
        process.executableURL = executable
        process.arguments = [golden]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lastLine = output.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(lastLine.hasSuffix(" passed, 0 failed"), output)
        XCTAssertEqual(process.terminationStatus, 0, output)
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
