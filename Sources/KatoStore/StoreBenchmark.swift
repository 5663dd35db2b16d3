import Foundation
import KatoEngine
import Logging

/// Measurements behind docs/BENCHMARKS.md (store section): durable learns per second with
/// concurrent writers, and the time to open (load + index) a knowledge base of N patterns.
public enum StoreBenchmark {
    /// Learns `learns` random 2–4-event patterns in all, shared out among `writers` concurrent
    /// tasks (the first `learns % writers` take one more), each learn awaited until durable.
    /// Returns learns per second and the mean learns per committed batch.
    public static func durableLearns(directory: String, writers: Int, learns: Int) async throws -> (perSecond: Double, perBatch: Double) {
        let store = try KnowledgeStore.open(directory: directory, logger: Logger(label: "bench"))
        defer { store.close() }
        let node = store.node("bench")
        let engine = KatoEngine(knowledgeBase: node.knowledgeBase)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let perWriter = learns / writers + (writer < learns % writers ? 1 : 0)
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    var session = try SessionState(config: EngineConfig(processPredictions: false))
                    for _ in 0..<perWriter {
                        let length = Int.random(in: 2...4, using: &rng)
                        for _ in 0..<length {
                            try engine.observe(Observation(strings: ["s\(Int.random(in: 0..<10_000, using: &rng))", "s\(Int.random(in: 0..<10_000, using: &rng))"]), in: &session)
                        }
                        let (_, ticket) = try node.recordLearn { engine.learn(in: &session) }
                        try await ticket?.wait()
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let s = store.status.snapshot()
        return (Double(learns) / seconds, Double(s.learnsAcknowledged) / Double(max(s.batchesCommitted, 1)))
    }

    /// Fills `directory` with `patterns` patterns (node "bench", 3 events of 2 symbols from a
    /// 10 000-symbol alphabet) in batches, through the normal write path.
    public static func fill(directory: String, patterns: Int) async throws {
        _ = try await durableLearns(directory: directory, writers: 256, learns: patterns)
    }

    /// Opens the store (lock, migrations check, load of every row, index rebuild) and returns the
    /// time taken and the number of patterns loaded.
    public static func openTime(directory: String) throws -> (Duration, Int) {
        let store = try KnowledgeStore.open(directory: directory, logger: Logger(label: "bench"))
        defer { store.close() }
        return store.loadStatistics
    }
}
