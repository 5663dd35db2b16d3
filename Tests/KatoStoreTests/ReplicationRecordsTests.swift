import KatoEngine
import Testing
@testable import KatoStore

/// The knowledge-base journal and the change records replicas exchange (docs/SCALING.md).
@Suite struct ReplicationRecordsTests {
    /// A mixed history: emotives (fractional, so float sums show any reordering), metadata,
    /// re-learns, a clear, and learns after it.
    static func history(_ kb: KnowledgeBase) {
        for i in 0..<40 {
            kb.learn(
                events: [["a\(i % 7)", "b"], ["c\(i % 3)"]], emotives: ["joy": 0.1 * Double(i) + 0.03, "fear": -0.7],
                metadata: ["src": ["s\(i % 2)"]], persistence: 3)
            if i == 17 { kb.clear() }
        }
    }

    @Test func replayingTheJournalReproducesTheKnowledgeBaseBitForBit() {
        let original = KnowledgeBase()
        original.startJournal()
        Self.history(original)
        let changes = original.takeJournal()
        #expect(changes.count == 41)
        #expect(original.takeJournal().isEmpty, "taking the journal stops it")

        let replica = KnowledgeBase()
        for change in changes { replica.apply(try! ReplicationRecords.decodeChange(ReplicationRecords.encode(change))) }
        #expect(replica.snapshot() == original.snapshot())
        let symbol = try! #require(original.symbolStats("b"))
        #expect(replica.symbolStats("b")!.emotives["joy"]!.bitPattern == symbol.emotives["joy"]!.bitPattern)
    }

    @Test func restoreIsNotJournaled() {
        let kb = KnowledgeBase()
        Self.history(kb)
        let copy = KnowledgeBase()
        copy.startJournal()
        copy.restore(kb.snapshot())
        #expect(copy.takeJournal().isEmpty)
    }

    @Test func changeRecordsRoundTrip() throws {
        let changes: [KnowledgeBaseChange] = [
            .learn(events: [["x", "é"], ["y"]], emotives: ["joy": 0.5], metadata: ["k": ["v1", "v2"]], persistence: 5),
            .learn(events: [["x"], ["y"]], emotives: [:], metadata: [:], persistence: 1),
            .clear,
            .delete(name: "7d0678ba6305341ce0d25133ab086208656a562f"),
            .delete(name: "é"),
        ]
        for change in changes {
            #expect(try ReplicationRecords.decodeChange(ReplicationRecords.encode(change)) == change)
        }
    }

    @Test(arguments: [[], [0], [3], [2, 0], [1, 200], [1, 5, 1, 65, 1], [4, 0xff]] as [[UInt8]])
    func malformedChangeRecordsAreRefused(_ bytes: [UInt8]) {
        #expect(throws: ReplicationRecords.DecodingError.self) { try ReplicationRecords.decodeChange(bytes) }
    }

    @Test func storedRowsLoadIntoTheSameKnowledgeBase() throws {
        let kb = KnowledgeBase()
        Self.history(kb)
        let snapshot = kb.snapshot()
        let image = kb.durableImage(of: snapshot.patterns.map(\.name))
        var builder = ReplicationRecords.LoaderBuilder(expectedPatterns: image.patterns.count)
        for row in image.patterns {
            let c = ReplicationRecords.columns(of: row.pattern)
            try builder.append(id: Int64(row.id), name: row.pattern.name, frequency: row.pattern.frequency,
                               events: c.events, emotives: c.emotives, metadata: c.metadata)
        }
        for (name, sums) in image.symbolEmotives {
            try builder.setSymbolEmotives(name, ReplicationRecords.encode(emotiveSums: sums))
        }
        #expect(KnowledgeBase(loaded: try builder.finish()).snapshot() == snapshot)
    }

    @Test func rowsOutOfOrderAreRefused() throws {
        var builder = ReplicationRecords.LoaderBuilder(expectedPatterns: 1)
        let p = Pattern(name: "n", events: [["a"], ["b"]], length: 2, frequency: 1, emotives: nil, metadata: [:])
        let c = ReplicationRecords.columns(of: p)
        #expect(throws: ReplicationRecords.DecodingError.self) {
            try builder.append(id: 1, name: "n", frequency: 1, events: c.events, emotives: c.emotives, metadata: c.metadata)
        }
    }
}
