import CKatoSIMD
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Computes KATO v2.0.0 predictions for one STM against a knowledge-base snapshot (kato-semantics §4).
///
/// Hot path: the candidate filter (Q11) touches only the postings of the state's symbols; the
/// character similarity runs over every candidate that its length bound does not exclude; matching
/// blocks and event boundaries over every candidate that passes the threshold; grouping of futures is
/// one hash probe per candidate; ranking keeps the `max_predictions` best in a bounded heap; the full
/// prediction objects (strings, metrics) are built only for those (Predictor+Materialise.swift).
///
/// Exactness: every candidate that reaches `recall_threshold` is scored exactly as before — it feeds
/// `F`, the group weights and `future_potentials`, so nothing above the threshold is ever skipped.
/// The two shortcuts below only skip work whose outcome is known: see ``noStateSymbolIsKnown`` and
/// ``lengthBoundExcludes(queryLength:textLength:)``. `exhaustive` turns both off (property tests
/// compare the two paths bit for bit).
struct Predictor {
    let kb: KnowledgeState
    let stm: [[String]]
    let recallThreshold: Double
    let maxPredictions: Int
    /// `true`: no shortcut (no early exit, no length bound, full sort) — the reference path for tests.
    var exhaustive = false
    /// Where the candidate scoring may be split over threads the caller provides (`nil`: one piece).
    var parallelism: PredictionParallelism? = nil
    /// Ranking sorts up to k when there are at most this many candidates per kept prediction, and
    /// keeps a bounded heap beyond (Predictor+Ensemble.swift, ``rank(_:)``). The tests lower it so
    /// that their small knowledge bases exercise the heap too.
    var sortRankingFactor = 64

    /// Per-candidate facts gathered in the first pass (plain values: the hot loop allocates nothing per candidate).
    struct Candidate {
        var id: Int32
        var frequency: Int32
        var blockStart: Int32
        var blockCount: Int32
        var k1: Int32
        var k2: Int32
        var group: Int32 = -1
        var similarity: Double
        var potential: Double = 0
        var predictiveInformation: Double = 0
        /// Copied from the pattern while the scoring has it at hand, so that grouping and ranking read
        /// flat records instead of chasing (and retaining) each candidate's shape again: whether the
        /// future (events `k2...`) is non-empty, its grouping hash and 8-byte JSON key, the name key.
        var hasFuture: Bool = false
        var futureHash: UInt64 = 0
        var futureJSONKey: UInt64 = 0
        var nameKey: UInt64 = 0
    }

    struct Output {
        var predictions: [Prediction]
        /// `nil` when no pattern passed the filters (KATO then leaves the cached value untouched).
        var futurePotentials: FuturePotentials?

        static let none = Output(predictions: [], futurePotentials: nil)
    }

    /// The state (flattened STM) as the scoring needs it.
    struct State {
        var flat: [String] = []
        /// Symbol id per position; unknown symbols get distinct negative ids (−2, −3, …).
        var ids: [Int32] = []
        /// Dense slot (distinct-value index) per position, and the symbol id per slot.
        var slots: [Int32] = []
        var slotIds: [Int32] = []
        var slotMap = SmallIntMap(capacity: 0)
        var anyKnown = false
        var count: Int { ids.count }
    }

    func run(shouldContinue: () -> Bool) throws -> Output {
        // An empty knowledge base has no candidate: nothing to flatten or look up.
        if kb.liveCount == 0 { return .none }
        assert(kb.summaries.count == kb.shapes.count, "KnowledgeState.summaries out of step with shapes")
        if !exhaustive && nothingToMatch() { return .none }
        let state = makeState()
        if !exhaustive && noStateSymbolIsKnown(state) { return .none }
        var scored = try score(state, shouldContinue: shouldContinue)
        if scored.found.isEmpty { return .none }
        if !shouldContinue() { throw EngineCancelledError() }
        let futurePotentials = ensemble(&scored.found)
        let order = rank(scored.found)
        let predictions = materialise(order: order, scored: scored, state: state)
        return Output(predictions: predictions, futurePotentials: futurePotentials)
    }

    /// Exact shortcut: with no state symbol in the knowledge base, no candidate can have a matching
    /// block (blocks are runs of equal symbols), so every candidate is dropped unless the threshold is
    /// exactly 0 (Q-rule: then block-less candidates are kept); and for q > 2 the candidate set is
    /// `LC ∩ SC` or `SC`, both empty when `SC` (patterns containing a state symbol) is. The result is
    /// then "no prediction", the same `.none` the full path returns.
    private func noStateSymbolIsKnown(_ state: State) -> Bool {
        !state.anyKnown && (state.count > 2 || recallThreshold != 0.0)
    }

    /// The same exact shortcut as ``noStateSymbolIsKnown``, decided before the STM is flattened: it
    /// counts the symbols (one add per event) and looks up at most 10 of them. For q > 2 only
    /// `state[:10]` can make a candidate (`SC`; the candidate set is `LC ∩ SC` or `SC`), so if none of
    /// those is known there is no candidate at all, however long the STM. For q ≤ 2 the state is
    /// `state[:10]`, and with threshold > 0 a candidate needs a shared symbol to have a block.
    private func nothingToMatch() -> Bool {
        var q = 0
        for event in stm { q += event.count }
        if q <= 2 && recallThreshold == 0.0 { return false }
        var looked = 0
        for event in stm {
            for symbol in event {
                if kb.symbolIds[symbol] != nil { return false }
                looked += 1
                if looked == 10 { return true }
            }
        }
        return true
    }

    private func makeState() -> State {
        var st = State()
        var q = 0
        for e in stm { q += e.count }
        st.flat.reserveCapacity(q)
        st.ids.reserveCapacity(q)
        st.slots.reserveCapacity(q)
        st.slotMap = SmallIntMap(capacity: q)
        var unknownCount: Int32 = 0
        var unknown: [String: Int32] = [:]
        for event in stm {
            for s in event {
                st.flat.append(s)
                let id: Int32
                if let known = kb.symbolIds[s] {
                    id = known
                    st.anyKnown = true
                } else if let u = unknown[s] {
                    id = u
                } else {
                    id = -2 - unknownCount
                    unknownCount += 1
                    unknown[s] = id
                }
                st.ids.append(id)
                var slot = st.slotMap.get(id)
                if slot < 0 {
                    slot = Int32(st.slotIds.count)
                    st.slotMap.set(id, slot)
                    st.slotIds.append(id)
                }
                st.slots.append(slot)
            }
        }
        return st
    }

    /// Exact bound: `LCS ≤ min(|a|, |b|)`, and ``IndelSimilarity/ratio(lcs:lengthSum:)`` is monotone
    /// non-decreasing in `lcs` (each step — integer distance, a correctly rounded division, `1 − x`,
    /// `×100`, `/100` — is monotone), so `ratio(min(|a|,|b|), |a|+|b|)` is an upper bound of the
    /// similarity *as computed*, floating-point rounding included. A candidate whose bound is below
    /// `recall_threshold` can never pass the threshold test and is skipped without changing anything.
    @inline(__always)
    static func lengthBoundExcludes(queryLength: Int, textLength: Int, threshold: Double) -> Bool {
        let bound = IndelSimilarity.ratio(lcs: min(queryLength, textLength), lengthSum: queryLength + textLength)
        return !(bound >= threshold)
    }

    struct Scored {
        var found: [Candidate]
        var blockStore: [BlockMatcher.Block]
        /// Slots that enter the probability table (in some prediction's matches or missing).
        var inTable: [Bool]
        var matcher: BlockMatcher
        var directSlots: [Int32]?
    }

    /// What every part of the scoring shares (read-only).
    struct Scoring: Sendable {
        var queryLength: Int
        var indel: IndelSimilarity
        var directSlots: [Int32]?
        var useBound: Bool
    }

    /// Candidate filter, similarity, matching blocks and event boundaries of every candidate; split
    /// into contiguous ranges of candidates run by `parallelism` when there are enough of them. The
    /// split is decided on the candidates before their length test (the pieces test their own range).
    private func score(_ state: State, shouldContinue: () -> Bool) throws -> Scored {
        let q = state.count
        let candidateSet = candidateSet(q: q, stateIds: state.ids)

        var queryChars: [UInt32] = []
        // An upper bound (a scalar is at least one UTF-8 byte): one allocation, not one per doubling.
        var scalarBound = state.flat.count
        for s in state.flat { scalarBound += s.utf8.count }
        queryChars.reserveCapacity(scalarBound)
        for (i, s) in state.flat.enumerated() {
            if i > 0 { queryChars.append(32) }
            for sc in s.unicodeScalars { queryChars.append(sc.value) }
        }
        // Symbol id → state slot: a direct table for vocabularies up to 2^16 symbols (filling it costs
        // one store per symbol of the vocabulary, per query: ≈ 10 µs at 50,000 symbols, the 1M-pattern
        // growing-vocabulary workload, against ≈ 100 µs of hash probes, one per pattern position
        // scored), else the small hash map of the state.
        var directSlots: [Int32]? = nil
        if kb.symbolNames.count <= 1 << 16 {
            var table = [Int32](repeating: -1, count: kb.symbolNames.count)
            for (slot, id) in state.slotIds.enumerated() where id >= 0 { table[Int(id)] = Int32(slot) }
            directSlots = table
        }
        let scoring = Scoring(
            queryLength: queryChars.count, indel: IndelSimilarity(query: queryChars), directSlots: directSlots,
            useBound: !exhaustive)
        if let parallelism, let parts = parallelism.pieces(candidates: candidateSet.ids.count, patterns: kb.liveCount) {
            if !shouldContinue() { throw EngineCancelledError() }
            let scored = scoreInParts(candidateSet, parts, scoring, state, parallelism)
            if !shouldContinue() { throw EngineCancelledError() }
            return scored
        }
        let candidateIds = lengthFiltered(candidateSet.ids[...], partitions: candidateSet.lengthPartitions)
        return try scoreRange(candidateIds[...], scoring, state, shouldContinue: shouldContinue)
    }

    /// Tests and scores contiguous ranges of the (ascending) candidates as independent pieces and
    /// concatenates the results in range order: every candidate is tested and computed exactly as in
    /// one piece (nothing in a candidate's score depends on another), so the result is the sequential
    /// one, bit for bit. Cancellation is checked before and after (the pieces may run on other threads).
    private func scoreInParts(
        _ candidates: CandidateSet, _ parts: Int, _ scoring: Scoring, _ state: State, _ parallelism: PredictionParallelism
    ) -> Scored {
        let results = PartResults(count: parts)
        let predictor = self
        let all = candidates.ids, lengthPartitions = candidates.lengthPartitions
        parallelism.execute(parts) { part in
            let lo = all.count * part / parts, hi = all.count * (part + 1) / parts
            let ids = predictor.lengthFiltered(all[lo..<hi], partitions: lengthPartitions)
            let scored = try? predictor.scoreRange(ids[...], scoring, state, shouldContinue: { true })
            results.slots.withLock { $0[part] = scored }
        }
        let pieces = results.slots.withLock { $0 }
        var merged = Scored(
            found: [], blockStore: [], inTable: [Bool](repeating: false, count: state.slotIds.count),
            matcher: BlockMatcher(bSlots: state.slots, slotCount: state.slotIds.count),
            directSlots: scoring.directSlots)
        var foundCount = 0, blockCount = 0
        for piece in pieces {
            // A piece that did not run (an executor that broke its contract) would lose candidates.
            guard let piece else { preconditionFailure("PredictionParallelism.execute skipped a partition") }
            foundCount += piece.found.count
            blockCount += piece.blockStore.count
        }
        merged.found.reserveCapacity(foundCount)
        merged.blockStore.reserveCapacity(blockCount)
        for piece in pieces {
            guard let piece else { continue }
            let offset = Int32(merged.blockStore.count)
            merged.blockStore.append(contentsOf: piece.blockStore)
            for var c in piece.found {
                c.blockStart += offset
                merged.found.append(c)
            }
            for (slot, used) in piece.inTable.enumerated() where used { merged.inTable[slot] = true }
        }
        return merged
    }

    /// `expectation(p, n) = −p·log_n(p)` for p > 0 and n > 1, else 0.
    func expectation(_ p: Double, _ n: Int) -> Double {
        guard p > 0, n > 1 else { return 0 }
        return -p * (log(p) / log(Double(n)))
    }
}
