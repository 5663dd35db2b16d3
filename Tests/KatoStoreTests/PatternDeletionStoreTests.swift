import Foundation
import KatoEngine
import Logging
import Testing
@testable import KatoStore

/// Deleting patterns in the SQLite store (schema v3 tombstones): after a reopen the node is the one
/// that deleted them — the same snapshot as a knowledge base that never learned them, the same ids.
@Suite struct PatternDeletionStoreTests {
    let logger = Logger(label: "test")
    let store = KnowledgeStoreTests()

    func delete(_ node: DurableNode, _ events: [[String]]) async throws {
        let (deleted, ticket) = try node.recordDelete { node.knowledgeBase.deletePattern(named: Naming.patternHash(events)) }
        #expect(deleted != nil)
        try await ticket!.wait()
    }

    @Test func deletionsSurviveReopenAsIfNeverLearned() async throws {
        let dir = store.tempDir()
        let ab = [["a"], ["b"]], ac = [["a"], ["c", "q"]], bc = [["b"], ["c"]], de = [["d"], ["e"]]
        let control = KnowledgeBase()
        do {
            let s = try KnowledgeStore.open(directory: dir, logger: logger)
            let node = s.node("n")
            _ = try await store.learn(node, ab, emotives: ["joy": 0.5])
            _ = try await store.learn(node, ac, emotives: ["joy": 0.25, "fear": 1])
            _ = try await store.learn(node, bc)
            try await delete(node, ac)  // a stored row becomes a tombstone
            _ = try await store.learn(node, de)
            // Learned and deleted before the writer took the batch: a tombstone appended after `de`.
            let engine = KatoEngine(knowledgeBase: node.knowledgeBase)
            var session = try SessionState(config: EngineConfig(processPredictions: false))
            for e in [["x"], ["y"]] { try engine.observe(Observation(strings: e), in: &session) }
            let (_, t1) = try node.recordLearn { engine.learn(in: &session) }
            let (_, t2) = try node.recordDelete { node.knowledgeBase.deletePattern(named: Naming.patternHash([["x"], ["y"]])) }
            try await t1!.wait()
            try await t2!.wait()
            for (events, emotives) in [(ab, ["joy": 0.5]), (bc, [:]), (de, [:])] {
                control.learn(events: events, emotives: emotives, metadata: ["k": ["v"]], persistence: 5)
            }
            #expect(node.knowledgeBase.snapshot() == control.snapshot())
            s.close()
        }
        let s = try KnowledgeStore.open(directory: dir, logger: logger)
        let kb = s.node("n").knowledgeBase
        #expect(kb.snapshot() == control.snapshot())
        #expect(kb.patternCount == 3 && kb.symbolCount == control.symbolCount)
        #expect(kb.symbolStats("q") == nil)
        // Ids continue after the tombstones: a new pattern and a re-learn of a deleted one.
        _ = try await store.learn(s.node("n"), ac)
        s.close()
        let report = try KnowledgeBaseMaintenance.verify(directory: dir)
        #expect(report.ok, "\(report.summary)")
        #expect(report.patterns == 4)
        let again = try KnowledgeStore.open(directory: dir, logger: logger)
        defer { again.close() }
        #expect(again.node("n").knowledgeBase.pattern(named: Naming.patternHash(ac))?.frequency == 1)
        #expect(again.node("n").knowledgeBase.patternCount == 4)
    }
}
