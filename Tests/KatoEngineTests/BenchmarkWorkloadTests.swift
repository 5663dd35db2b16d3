import Foundation
import XCTest

/// The benchmark's re-implementation of CPython's `random.Random` must generate the reference workload.
final class BenchmarkWorkloadTests: XCTestCase {
    func testBenchmarkWorkloadMatchesCPythonRandom() throws {
        let fixture = repositoryRoot.appendingPathComponent("benchmarks/engine/workload_fixture.json").path
        let executable = try XCTUnwrap(GoldenConformanceTests.findConformanceExecutable(), "kato-conformance not built")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--bench", "--verify", fixture]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("matches CPython"), output)
    }
}
