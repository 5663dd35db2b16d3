import Foundation
import KatoEngine
import Logging
import Testing
@testable import KatoStore

/// Real SQLite files in a temporary directory.
@Suite struct KnowledgeStoreTests {
    let logger = Logger(label: "test")

    func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "kato-store-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func learn(_ node: DurableNode, _ events: [[String]], emotives: [String: Double] = [:]) async throws -> LearnOutcome {
        let engine = KatoEngine(knowledgeBase: node.knowledgeBase)
        var session = try SessionState(config: EngineConfig(processPredictions: false))
        for (i, e) in events.enumerated() {
            try engine.observe(
                Observation(strings: e, emotives: i == 0 ? emotives : [:], metadata: ["k": .string("v")]), in: &session)
        }
        let (result, ticket) = try node.recordLearn { engine.learn(in: &session) }
        try await ticket!.wait()
        return result.outcome!
    }

    @Test func acknowledgedLearnsSurviveReopen() async throws {
        let dir = tempDir()
        do {
            let store = try KnowledgeStore.open(directory: dir, logger: logger)
            let node = store.node("n")
            _ = try await learn(node, [["a"], ["b"]], emotives: ["joy": 0.5])
            let o = try await learn(node, [["a"], ["b"]])
            #expect(o.frequency == 2)
            _ = try await learn(store.node("other"), [["x", "y"]])
            store.close()
        }
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        defer { store.close() }
        #expect(Set(store.nodeIDs) == ["n", "other"])
        let kb = store.node("n").knowledgeBase
        let p = kb.pattern(named: Naming.patternHash([["a"], ["b"]]))
        #expect(p?.frequency == 2)
        #expect(p?.emotives == [["joy": 0.5]])
        #expect(p?.metadata == ["k": ["v"]])
        #expect(kb.totals.totalPatternFrequencies == 2)
        #expect(kb.symbolStats("a")?.emotives == ["joy": 0.5])
        #expect(throws: StoreError.self) { try KnowledgeBaseMaintenance.verify(directory: dir) } // locked by `store`
    }

    @Test func concurrentLearnsShareCommitsAndAllArrive() async throws {
        let dir = tempDir()
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        let node = store.node("n")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<200 { _ = try await learn(node, [["w\(w)"], ["i\(i % 10)"]]) }
                }
            }
            try await group.waitForAll()
        }
        let s = store.status.snapshot()
        #expect(s.learnsAcknowledged == 1600)
        #expect(s.batchesCommitted < 1600)
        store.close()
        let reopened = try KnowledgeStore.open(directory: dir, logger: logger)
        #expect(reopened.node("n").knowledgeBase.totals.totalPatternFrequencies == 1600)
        #expect(reopened.node("n").knowledgeBase.patternCount == 80)
        reopened.close()
    }

    @Test func clearIsDurableAndAtomic() async throws {
        let dir = tempDir()
        do {
            let store = try KnowledgeStore.open(directory: dir, logger: logger)
            let node = store.node("n")
            _ = try await learn(node, [["a"], ["b"]])
            try await node.recordClear { node.knowledgeBase.clear() }!.wait()
            _ = try await learn(node, [["c"], ["d"]])
            store.close()
        }
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        #expect(store.node("n").knowledgeBase.patternCount == 1)
        store.close()
        #expect(try KnowledgeBaseMaintenance.verify(directory: dir).ok)
    }

    @Test func aFailedCommitRollsMemoryBackToDisk() async throws {
        let dir = tempDir()
        let faults = FaultInjector(rate: 0)
        let control = dir + "/rate"
        try "0".write(toFile: control, atomically: true, encoding: .utf8)
        let store = try KnowledgeStore.open(
            directory: dir, faults: FaultInjector(rate: 0, controlFile: control), logger: logger)
        _ = faults
        let node = store.node("n")
        _ = try await learn(node, [["a"], ["b"]])
        try "1".write(toFile: control, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(150))
        await #expect(throws: StoreError.self) { _ = try await learn(node, [["a"], ["b"]]) }
        #expect(node.knowledgeBase.pattern(named: Naming.patternHash([["a"], ["b"]]))?.frequency == 1)
        #expect(store.status.snapshot().failedBatches == 1)
        store.close()
    }

    @Test func fullDiskFailsTheWriteAndKeepsAcknowledgedData() async throws {
        let dir = tempDir()
        var config = KnowledgeStore.Configuration()
        config.maxPageCount = 40
        let store = try KnowledgeStore.open(directory: dir, configuration: config, logger: logger)
        let node = store.node("n")
        var acknowledged = 0
        var failure: StoreError?
        for i in 0..<2000 where failure == nil {
            do {
                _ = try await learn(node, [["sym-\(i)-" + String(repeating: "x", count: 200)], ["b"]])
                acknowledged += 1
            } catch {
                failure = error as? StoreError
            }
        }
        #expect(failure?.code == .full)
        #expect(node.knowledgeBase.patternCount == acknowledged)
        store.close()
        let reopened = try KnowledgeStore.open(directory: dir, logger: logger)
        #expect(reopened.node("n").knowledgeBase.patternCount == acknowledged)
        reopened.close()
    }

    @Test func corruptFileIsAClearError() throws {
        let dir = tempDir()
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: dir + "/" + KnowledgeStore.fileName))
        #expect {
            _ = try KnowledgeStore.open(directory: dir, logger: logger)
        } throws: { error in
            (error as? StoreError)?.code == .corrupt && "\(error)".contains("kato.sqlite")
        }
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() throws {
        let dir = tempDir()
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        #expect { _ = try KnowledgeStore.open(directory: dir, logger: logger) } throws: { ($0 as? StoreError)?.code == .locked }
        store.close()
    }

    @Test func migrationsAreRecordedAndIdempotent() throws {
        let dir = tempDir()
        let db = try SQLiteDatabase(path: dir + "/m.sqlite")
        #expect(try Schema.migrate(db) == [1])
        #expect(try Schema.migrate(db) == [])
        #expect(try Schema.version(db) == 1)
        try db.execute("INSERT INTO schema_migrations VALUES (99, 'future')")
        #expect { try Schema.migrate(db) } throws: { ($0 as? StoreError)?.code == .incompatibleSchema }
    }

    @Test func recordCodecRoundTrips() throws {
        let events = [["a", "ü", ""], ["x\u{0}y"]]
        #expect(try RecordCodec.decodeEvents(RecordCodec.encode(events: events)) == events)
        let window: [[String: Double]] = [["joy": 0.5, "fear": -1e-300], [:]]
        #expect(try RecordCodec.decodeEmotives(RecordCodec.encode(emotives: window)) == window)
        #expect(try RecordCodec.decodeEmotives(RecordCodec.encode(emotives: nil)) == nil)
        let meta = ["k": ["b", "a"], "j": []]
        #expect(try RecordCodec.decodeMetadata(RecordCodec.encode(metadata: meta)) == meta)
        #expect(throws: RecordCodec.DecodingError.self) { try RecordCodec.decodeEvents([0x05, 0x01]) }
    }
}
