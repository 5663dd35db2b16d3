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

    @Test func closeClosesTheConnectionBeforeReleasingTheDirectory() async throws {
        let dir = tempDir()
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        _ = try await learn(store.node("n"), [["a"], ["b"]])
        #expect(FileManager.default.fileExists(atPath: dir + "/kato.sqlite-wal"))
        store.close()
        // `store` is still referenced: the connection must be closed by close() itself (SQLite
        // removes the WAL file when its last connection closes), not later by deinit.
        #expect(!FileManager.default.fileExists(atPath: dir + "/kato.sqlite-wal"))
        let reopened = try KnowledgeStore.open(directory: dir, logger: logger)
        #expect(reopened.node("n").knowledgeBase.patternCount == 1)
        reopened.close()
        withExtendedLifetime(store) {}
    }

    @Test func migrationsAreRecordedAndIdempotent() throws {
        let dir = tempDir()
        let db = try SQLiteDatabase(path: dir + "/m.sqlite")
        #expect(try Schema.migrate(db) == [1, 2, 3])
        #expect(try Schema.migrate(db) == [])
        #expect(try Schema.version(db) == 3)
        try db.execute("INSERT INTO schema_migrations VALUES (99, 'future')")
        #expect { try Schema.migrate(db) } throws: { ($0 as? StoreError)?.code == .incompatibleSchema }
    }

    /// A v1 file (patterns keyed by name with a sparse `seq`, stored symbol statistics and totals)
    /// opens, migrates to v2 and yields the same knowledge base; `verify` passes afterwards.
    @Test func version1FileMigratesToVersion2() async throws {
        let dir = tempDir()
        let path = dir + "/" + KnowledgeStore.fileName
        let ab = [["a"], ["b", "c"]], ba = [["b"], ["a"]], cc = [["c", "c"]]
        do {
            let db = try SQLiteDatabase(path: path)
            try StoreSQL.configure(db)
            #expect(try Schema.migrate(db, upTo: 1) == [1])
            try db.execute("INSERT INTO nodes (id, node_id) VALUES (1, 'n'), (2, 'm')")
            func insert(_ node: Int, _ events: [[String]], seq: Int, frequency: Int, emotives: [[String: Double]]?) throws {
                let s = try db.prepare("INSERT INTO patterns VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                try s.bind(1, node)
                try s.bind(2, Naming.patternHash(events))
                try s.bind(3, seq)
                try s.bind(4, frequency)
                try s.bind(5, events.reduce(0) { $0 + $1.count })
                try s.bind(6, RecordCodec.encode(events: events))
                try s.bind(7, RecordCodec.encode(emotives: emotives))
                try s.bind(8, RecordCodec.encode(metadata: ["k": ["v"]]))
                try s.run()
            }
            // v1 advanced `seq` on every write, so it has gaps; the order is what matters.
            try insert(1, ba, seq: 7, frequency: 1, emotives: nil)
            try insert(1, ab, seq: 2, frequency: 2, emotives: [["joy": 0.5]])
            try insert(1, cc, seq: 9, frequency: 3, emotives: nil)
            try insert(2, ab, seq: 0, frequency: 1, emotives: nil)
            let enc = { (d: [String: Double]) in RecordCodec.encode(dict: d) }
            for (node, name, f, m, e) in [(1, "a", 3, 3, ["joy": 0.5]), (1, "b", 3, 3, [:]), (1, "c", 8, 5, ["joy": 0.5]),
                                          (2, "a", 1, 1, [:]), (2, "b", 1, 1, [:]), (2, "c", 1, 1, [:])] {
                let s = try db.prepare("INSERT INTO symbols VALUES (?1, ?2, ?3, ?4, ?5)")
                try s.bind(1, node)
                try s.bind(2, name)
                try s.bind(3, f)
                try s.bind(4, m)
                try s.bind(5, enc(e))
                try s.run()
            }
            try db.execute("INSERT INTO totals VALUES (1, 6, 14, 11), (2, 1, 3, 3)")
        }
        let expected = KnowledgeBaseSnapshot(
            patterns: [
                Pattern(name: Naming.patternHash(ab), events: ab, length: 3, frequency: 2, emotives: [["joy": 0.5]], metadata: ["k": ["v"]]),
                Pattern(name: Naming.patternHash(ba), events: ba, length: 2, frequency: 1, emotives: nil, metadata: ["k": ["v"]]),
                Pattern(name: Naming.patternHash(cc), events: cc, length: 2, frequency: 3, emotives: nil, metadata: ["k": ["v"]]),
            ],
            symbols: [
                "a": SymbolStats(frequency: 3, patternMemberFrequency: 3, emotives: ["joy": 0.5]),
                "b": SymbolStats(frequency: 3, patternMemberFrequency: 3),
                "c": SymbolStats(frequency: 8, patternMemberFrequency: 5, emotives: ["joy": 0.5]),
            ],
            totals: KnowledgeBaseTotals(totalPatternFrequencies: 6, totalSymbolFrequencies: 14, totalSymbolsInPatternsFrequencies: 11))
        do {
            let store = try KnowledgeStore.open(directory: dir, logger: logger)
            #expect(store.node("n").knowledgeBase.snapshot() == expected)
            #expect(store.node("n").knowledgeBase.snapshot() == KnowledgeBase(snapshot: expected).snapshot())
            #expect(store.node("m").knowledgeBase.patternCount == 1)
            // The migrated file takes new writes: a re-learn (update in place) and a new pattern.
            let o = try await learn(store.node("n"), ba)
            #expect(o.frequency == 2 && !o.isNew)
            _ = try await learn(store.node("n"), [["d"], ["e"]], emotives: ["joy": 1])
            store.close()
        }
        let report = try KnowledgeBaseMaintenance.verify(directory: dir)
        #expect(report.ok, "\(report.summary)")
        let db = try SQLiteDatabase(path: path)
        #expect(try Schema.version(db) == 3)
        #expect(try db.scalarInt("SELECT count(*) FROM sqlite_master WHERE name IN ('symbols', 'totals')") == 0)
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        defer { store.close() }
        let kb = store.node("n").knowledgeBase
        #expect(kb.snapshot().patterns.map(\.name) == [ab, ba, cc, [["d"], ["e"]]].map { Naming.patternHash($0) })
        #expect(kb.pattern(named: Naming.patternHash(ba))?.frequency == 2)
        #expect(kb.symbolStats("a") == SymbolStats(frequency: 4, patternMemberFrequency: 4, emotives: ["joy": 0.5]))
        #expect(kb.symbolStats("e") == SymbolStats(frequency: 1, patternMemberFrequency: 1, emotives: ["joy": 1]))
        #expect(kb.totals == KnowledgeBaseTotals(totalPatternFrequencies: 8, totalSymbolFrequencies: 18, totalSymbolsInPatternsFrequencies: 15))
    }

    /// Memory after a reopen equals memory before it (pattern order, statistics, totals), through
    /// re-learns, emotives and a clear followed by learns.
    @Test func reopenRestoresTheSameKnowledgeBase() async throws {
        let dir = tempDir()
        let before: KnowledgeBaseSnapshot
        do {
            let store = try KnowledgeStore.open(directory: dir, logger: logger)
            let node = store.node("n")
            _ = try await learn(node, [["q"], ["r"]])
            _ = try await learn(node, [["q"], ["r"]], emotives: ["x": 2])
            let t = try node.recordClear { node.knowledgeBase.clear() }
            try await t?.wait()
            for i in 0..<50 {
                _ = try await learn(node, [["s\(i % 7)"], ["t\(i % 5)", "s\(i % 3)"]], emotives: i % 4 == 0 ? ["e": Double(i)] : [:])
            }
            before = node.knowledgeBase.snapshot()
            store.close()
        }
        #expect(try KnowledgeBaseMaintenance.verify(directory: dir).ok)
        let store = try KnowledgeStore.open(directory: dir, logger: logger)
        defer { store.close() }
        #expect(store.node("n").knowledgeBase.snapshot() == before)
        #expect(store.node("n").knowledgeBase.pattern(named: Naming.patternHash([["q"], ["r"]])) == nil)
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
