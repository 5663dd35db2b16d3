import Synchronization

/// How one prediction may be split over several threads, which the caller provides: the engine
/// creates no thread and never blocks. The candidates' length test and their scoring (similarity,
/// matching blocks, event boundaries — over half of a large query's time, and nearly all of its cache
/// misses in a large knowledge base) are cut into contiguous ranges of candidates;
/// `execute(count, work)` must call `work(0) … work(count − 1)` exactly once each (in any order, on any
/// threads) and return when all have returned. The result is identical, bit for bit, to the
/// one-piece computation (each candidate is scored independently; the pieces are concatenated in order).
///
/// ```swift
/// engine.parallelism = PredictionParallelism(partitions: 2) { count, work in
///     DispatchQueue.concurrentPerform(iterations: count, execute: work)
/// }
/// ```
/// Cancellation (`shouldContinue`) is checked before and after the parallel part.
public struct PredictionParallelism: Sendable {
    /// Upper bound on the pieces of one query.
    public var partitions: Int
    /// A query is split only when each piece gets at least this many candidates (small queries are
    /// cheaper in one piece than the hand-off).
    public var minimumCandidatesPerPartition: Int
    /// A query is split only when the knowledge base holds at least this many patterns: in a small one
    /// the candidates' patterns stay in cache and a piece costs less than its hand-over (measured: no
    /// gain at 10,000 patterns, −18 % wall time at 1,000,000; docs/ENGINE.md).
    public var minimumPatterns: Int = 0
    public var execute: @Sendable (_ count: Int, _ work: @Sendable (Int) -> Void) -> Void

    public init(
        partitions: Int, minimumCandidatesPerPartition: Int = 1024,
        execute: @escaping @Sendable (_ count: Int, _ work: @Sendable (Int) -> Void) -> Void
    ) {
        self.partitions = partitions
        self.minimumCandidatesPerPartition = minimumCandidatesPerPartition
        self.execute = execute
    }

    /// How many pieces a query of `candidates` candidates over `patterns` patterns is cut into; `nil`:
    /// one piece, not split.
    func pieces(candidates: Int, patterns: Int) -> Int? {
        let minimum = max(1, minimumCandidatesPerPartition)
        guard partitions > 1, candidates >= 2 * minimum, patterns >= minimumPatterns else { return nil }
        return min(partitions, candidates / minimum)
    }
}

/// The pieces' results, written from the executor's threads.
final class PartResults: Sendable {
    let slots: Mutex<[Predictor.Scored?]>
    init(count: Int) { slots = Mutex([Predictor.Scored?](repeating: nil, count: count)) }
}
