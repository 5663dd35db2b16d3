import Foundation
import KatoEngine
import Logging
import Testing
@testable import KatoStore

/// A successor's preload beside the running store, and the catch-up at open (hand-over).
@Suite struct KnowledgeStorePreloadTests {
    let logger = Logger(label: "test")

    func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "kato-preload-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func learn(_ node: DurableNode, _ events: [[String]]) async throws {
        let engine = KatoEngine(knowledgeBase: node.knowledgeBase)
        var session = try SessionState(config: EngineConfig(processPredictions: false))
        for e in events { try engine.observe(Observation(strings: e), in: &session) }
        let (_, ticket) = try node.recordLearn { engine.learn(in: &session) }
        try await ticket!.wait()
    }

    @Test func preloadReadsBesideTheWriterAndOpenRereadsOnlyTheNodesCommittedSince() async throws {
        let dir = tempDir()
        let running = try KnowledgeStore.open(directory: dir, logger: logger)
        try await learn(running.node("busy"), [["a"], ["b"]])
        try await learn(running.node("quiet"), [["q"], ["r"]])
        running.trackChanges()  // the successor said hello
        let preloaded = try KnowledgeStore.preload(directory: dir)  // while `running` holds the lock
        #expect(preloaded.statistics.patterns == 2)
        try await learn(running.node("busy"), [["c"], ["d"]])  // after the preload: must not be lost
        try await learn(running.node("new"), [["n"], ["m"]])
        running.close()
        #expect(running.changedNodes == ["busy", "new"])

        let successor = try KnowledgeStore.open(
            directory: dir, logger: logger, preloaded: preloaded, changed: running.changedNodes)
        defer { successor.close() }
        #expect(successor.node("busy").knowledgeBase.patternCount == 2)
        #expect(successor.node("new").knowledgeBase.patternCount == 1)
        #expect(successor.node("quiet").knowledgeBase === preloaded.nodes["quiet"]?.knowledgeBase, "an untouched node is taken as preloaded")
        #expect(successor.node("busy").knowledgeBase !== preloaded.nodes["busy"]?.knowledgeBase)
        #expect(successor.loadStatistics.patterns == 4)
        // The successor writes on: the reused node's writes reach the disk.
        try await learn(successor.node("quiet"), [["s"], ["t"]])
    }

    @Test func preloadOfAMissingDatabaseFailsWithoutCreatingIt() {
        let dir = tempDir()
        #expect(throws: StoreError.self) { _ = try KnowledgeStore.preload(directory: dir) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + KnowledgeStore.fileName))
    }
}
