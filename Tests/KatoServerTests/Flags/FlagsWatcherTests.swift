import Foundation
import Logging
import XCTest

@testable import KatoServer

/// `FlagsWatcher` puts a config file's `flags` section in force on a real app: a valid section
/// whole, an invalid one not at all (the previous flags stay); the file is polled by content,
/// and `reloadNow` (SIGHUP) reads it at once.
final class FlagsWatcherTests: XCTestCase {
    private var path: String!

    override func setUpWithError() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("flags-\(UUID().uuidString).json").path
    }

    override func tearDown() {
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }

    private func write(_ json: String) throws {
        try json.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Waits (at most 10 s) until `condition` holds.
    private func eventually(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<1000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("never happened: \(what)")
    }

    func testAValidSectionIsPutInForceWhole() throws {
        let kato = try InProcessKato()
        try write(#"{"port": 1, "flags": {"predictions": false, "emotives": false}}"#)
        let watcher = FlagsWatcher(path: path, app: kato.app, logger: Logger(label: "test"))
        XCTAssertTrue(watcher.reload(cause: "test"))
        XCTAssertFalse(kato.app.flags.current.predictions)
        XCTAssertFalse(kato.app.flags.current.emotives)
        XCTAssertFalse(kato.app.flags.predictions, "the per-call bits follow")
    }

    func testAnInvalidSectionIsRefusedAndThePreviousFlagsStay() throws {
        let kato = try InProcessKato()
        try write(#"{"flags": {"predictions": false}}"#)
        let watcher = FlagsWatcher(path: path, app: kato.app, logger: Logger(label: "test"))
        XCTAssertTrue(watcher.reload(cause: "test"))
        try write(#"{"flags": {"predictions": true, "emotives": "no"}}"#)
        XCTAssertFalse(watcher.reload(cause: "test"))
        XCTAssertFalse(kato.app.flags.current.predictions, "not half applied")
        XCTAssertTrue(kato.app.flags.current.emotives)
        try FileManager.default.removeItem(atPath: path)
        XCTAssertFalse(watcher.reload(cause: "test"), "a missing file is refused too")
        XCTAssertFalse(kato.app.flags.current.predictions)
    }

    func testAChangedFileIsNoticedByPolling() async throws {
        let kato = try InProcessKato()
        try write(#"{"flags": {}}"#)
        let watcher = FlagsWatcher(path: path, app: kato.app, logger: Logger(label: "test"), interval: .milliseconds(20))
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertTrue(kato.app.flags.current.predictions, "an unchanged file changes nothing")
        try write(#"{"flags": {"predictions": false}}"#)
        try await eventually("predictions off after the file changed") { !kato.app.flags.current.predictions }
    }

    func testReloadNowReadsTheFileWithoutWaitingForThePoll() async throws {
        let kato = try InProcessKato()
        try write(#"{"flags": {}}"#)
        let watcher = FlagsWatcher(path: path, app: kato.app, logger: Logger(label: "test"), interval: .seconds(3600))
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        try write(#"{"flags": {"auto_learn": false}}"#)
        watcher.reloadNow()
        try await eventually("auto_learn off after reloadNow") { !kato.app.flags.current.autoLearn }
    }
}
