import Dispatch
import KatoEngine
import NIOCore

/// How the server lets one large prediction use more than one core (`--prediction-threads`,
/// `--prediction-split-candidates`, `--prediction-split-patterns`): the engine cuts the candidates' length test and scoring into
/// contiguous pieces (``PredictionParallelism``; the result is bit for bit the one-piece result) and
/// the server runs them with `DispatchQueue.concurrentPerform`.
///
/// Why Dispatch rather than threads of our own: `concurrentPerform` runs pieces on the calling thread
/// too, taking them one at a time from a shared counter, so a call never waits for a piece that no
/// thread has started — when every core is busy (both event loops serving) the caller simply runs all
/// pieces itself, the one-piece cost plus a counter. The caller only waits for pieces already running
/// on a Dispatch worker, which never runs anything but engine work: no event loop is ever asked to do
/// the work or waited for, and nothing is queued behind a lock. An executor of our own would have to
/// hand pieces to parked threads and wait for them (a wake-up each, ≈ 5–50 µs on a loaded machine),
/// with the same work-stealing to write again.
public struct PredictionThreads: Sendable, Equatable {
    /// Pieces of one prediction at most (1: never split).
    public var threads: Int
    /// A prediction is split only when each piece gets at least this many candidates: below that the
    /// hand-over costs more than the piece (a 10,000-pattern query has ≈ 1,400 candidates).
    public var minimumCandidatesPerThread: Int

    /// …and only when the knowledge base holds at least this many patterns: below it the patterns stay
    /// in cache, a piece is cheap and the split measured no gain (10,000 patterns: ±5 %, −6 % at
    /// 100,000, −18 % at 1,000,000 with the growing vocabulary; docs/ENGINE.md).
    public var minimumPatterns: Int

    public static let defaultMinimumCandidatesPerThread = 512
    public static let defaultMinimumPatterns = 50_000

    public init(
        threads: Int, minimumCandidatesPerThread: Int = Self.defaultMinimumCandidatesPerThread,
        minimumPatterns: Int = Self.defaultMinimumPatterns
    ) {
        self.threads = threads
        self.minimumCandidatesPerThread = minimumCandidatesPerThread
        self.minimumPatterns = minimumPatterns
    }

    /// One core per piece, up to 2 (the machine this is measured on; docs/ENGINE.md).
    public static var `default`: PredictionThreads {
        PredictionThreads(threads: min(2, System.coreCount))
    }

    /// The engine's executor, or `nil` (one piece) for `threads` ≤ 1.
    public var parallelism: PredictionParallelism? {
        guard threads > 1 else { return nil }
        var parallelism = PredictionParallelism(partitions: threads, minimumCandidatesPerPartition: minimumCandidatesPerThread) { count, work in
            KatoMetrics.predictionsSplit.increment()
            DispatchQueue.concurrentPerform(iterations: count, execute: work)
        }
        parallelism.minimumPatterns = minimumPatterns
        return parallelism
    }
}
