import KatoEngine
import Synchronization
import XCTest

@testable import KatoServer

/// `PredictionThreads` turns `--prediction-threads` into the engine's executor: none for one thread,
/// else Dispatch's `concurrentPerform`, which must run every piece exactly once; and every engine the
/// server makes carries it.
final class PredictionThreadsTests: XCTestCase {
    func testOneThreadGivesTheEngineNoExecutor() {
        XCTAssertNil(PredictionThreads(threads: 1).parallelism)
        XCTAssertNil(NodeRegistry().engine(for: "n").parallelism)
    }

    func testTheExecutorRunsEveryPieceExactlyOnce() throws {
        let threads = PredictionThreads(threads: 3, minimumCandidatesPerThread: 40, minimumPatterns: 7)
        let parallelism = try XCTUnwrap(threads.parallelism)
        XCTAssertEqual(parallelism.partitions, 3)
        XCTAssertEqual(parallelism.minimumCandidatesPerPartition, 40)
        XCTAssertEqual(parallelism.minimumPatterns, 7)
        let runs = Mutex([Int](repeating: 0, count: 7))
        parallelism.execute(7) { piece in runs.withLock { $0[piece] += 1 } }
        XCTAssertEqual(runs.withLock { $0 }, [Int](repeating: 1, count: 7))
    }

    func testEveryEngineOfTheServerCarriesTheExecutor() throws {
        let nodes = NodeRegistry(predictionThreads: PredictionThreads(threads: 2, minimumCandidatesPerThread: 5))
        for node in ["a", "b"] {
            let parallelism = try XCTUnwrap(nodes.engine(for: node).parallelism, node)
            XCTAssertEqual(parallelism.partitions, 2)
            XCTAssertEqual(parallelism.minimumCandidatesPerPartition, 5)
        }
    }

    func testTheDefaultSplitsOverAtMostTwoCoresWithPiecesOfAtLeast512CandidatesFrom50000Patterns() {
        let threads = PredictionThreads.default
        XCTAssertTrue((1...2).contains(threads.threads))
        XCTAssertEqual(threads.minimumCandidatesPerThread, 512)
        XCTAssertEqual(threads.minimumPatterns, 50_000)
    }
}
