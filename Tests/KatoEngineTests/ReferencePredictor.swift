#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
@testable import KatoEngine

/// The test oracle: the engine's predictor as it was before the issue-15 optimisations (commit 94f5c3c:
/// every pattern marked for the candidate filter, full sorts, no bound, no early exit), kept verbatim
/// except for one line: `W` is summed over the groups in order of first appearance, the order the
/// optimised predictor (and KATO's dict) uses, so that both are comparable bit for bit.
struct ReferencePredictor {
    let kb: KnowledgeState
    let stm: [[String]]
    let recallThreshold: Double
    let maxPredictions: Int

    /// Per-candidate facts gathered in the first pass (plain values: the hot loop allocates nothing per candidate).
    private struct Candidate {
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
    }

    struct Output {
        var predictions: [Prediction]
        /// `nil` when no pattern passed the filters (KATO then leaves the cached value untouched).
        var futurePotentials: FuturePotentials?
    }

    func run(shouldContinue: () -> Bool) throws -> Output {
        let flat = stm.flatMap { $0 }
        let q = flat.count
        if kb.shapes.isEmpty { return Output(predictions: [], futurePotentials: nil) }

        // Symbol ids of the state; unknown symbols get distinct negative ids.
        var unknown: [String: Int32] = [:]
        let stateIds: [Int32] = flat.map { s in
            if let id = kb.symbolIds[s] { return id }
            if let u = unknown[s] { return u }
            let u = -2 - Int32(unknown.count)
            unknown[s] = u
            return u
        }
        // Dense slots for the distinct state symbols.
        var slotMap = SmallIntMap(capacity: q)
        var slotIds: [Int32] = []
        var stateSlots: [Int32] = []
        stateSlots.reserveCapacity(q)
        for id in stateIds {
            var slot = slotMap.get(id)
            if slot < 0 {
                slot = Int32(slotIds.count)
                slotMap.set(id, slot)
                slotIds.append(id)
            }
            stateSlots.append(slot)
        }
        let slotCount = slotIds.count

        // Candidate filter (IndexManager.search_candidates).
        let candidateIds = candidates(q: q, stateIds: stateIds)

        var queryChars: [UInt32] = []
        for (i, s) in flat.enumerated() {
            if i > 0 { queryChars.append(32) }
            for sc in s.unicodeScalars { queryChars.append(sc.value) }
        }
        let indel = IndelSimilarity(query: queryChars)
        var matcher = BlockMatcher(bSlots: stateSlots, slotCount: slotCount)
        let thresholdIsZero = recallThreshold == 0.0

        // Symbol id → state slot: a direct table for vocabularies up to 2^18 symbols, else the hash map.
        var directSlots: [Int32]? = nil
        if kb.symbolNames.count <= 1 << 18 {
            var table = [Int32](repeating: -1, count: kb.symbolNames.count)
            for (slot, id) in slotIds.enumerated() where id >= 0 { table[Int(id)] = Int32(slot) }
            directSlots = table
        }
        var found: [Candidate] = []
        found.reserveCapacity(candidateIds.count)
        var blockStore: [BlockMatcher.Block] = []
        blockStore.reserveCapacity(candidateIds.count * 2)
        var inTable = [Bool](repeating: false, count: slotCount)
        var matchedStamp = [Int](repeating: -1, count: slotCount)
        var aSlots: [Int32] = []
        var counter = 0
        for id in candidateIds {
            counter += 1
            if counter & 255 == 0 && !shouldContinue() { throw EngineCancelledError() }
            let shape = kb.shapes[Int(id)]
            let similarity = indel.similarity(shape)
            if !(similarity >= recallThreshold) { continue }
            aSlots.removeAll(keepingCapacity: true)
            if let directSlots {
                for s in shape.flatIds { aSlots.append(directSlots[Int(s)]) }
            } else {
                for s in shape.flatIds { aSlots.append(slotMap.get(s)) }
            }
            let blockStart = blockStore.count
            let blockCount = aSlots.withUnsafeBufferPointer { matcher.matchingBlocks($0, into: &blockStore) }
            if blockCount == 0 && !thresholdIsZero { continue }

            let p: Int
            let r: Int
            if blockCount > 0 {
                let first = blockStore[blockStart], last = blockStore[blockStart + blockCount - 1]
                p = first.a
                r = last.a + last.size - first.a
            } else {
                p = 0
                r = shape.length
            }
            // Event boundaries (Prediction.__init__).
            var c2 = 0
            var ev = 0
            let ends = shape.eventEnds
            while c2 < p { c2 = ends[ev]; ev += 1 }
            var k1 = ev
            while c2 < p + r { c2 = ends[ev]; ev += 1 }
            let k2 = ev
            // Mark matched symbols (by value).
            let stampValue = found.count
            for bi in blockStart..<(blockStart + blockCount) {
                let blk = blockStore[bi]
                for j in blk.b..<(blk.b + blk.size) {
                    let slot = Int(stateSlots[j])
                    matchedStamp[slot] = stampValue
                    inTable[slot] = true
                }
            }
            // Q20 fix-up: move past[-1] into present if it contains matches[0] anywhere.
            if k1 > 0 && blockCount > 0 {
                let firstMatch = stateIds[blockStore[blockStart].b]
                let start = shape.eventStart(k1 - 1)
                if shape.flatIds[start..<ends[k1 - 1]].contains(firstMatch) { k1 -= 1 }
            }
            // Missing symbols that are also state symbols enter the probability table.
            let presentStart = k1 == 0 ? 0 : ends[k1 - 1]
            let presentEnd = k2 == 0 ? 0 : ends[k2 - 1]
            for idx in presentStart..<presentEnd {
                let slot = aSlots[idx]
                if slot >= 0 && matchedStamp[Int(slot)] != stampValue { inTable[Int(slot)] = true }
            }
            found.append(Candidate(
                id: id, frequency: Int32(clamping: kb.records[Int(id)].frequency), blockStart: Int32(blockStart),
                blockCount: Int32(blockCount), k1: Int32(k1), k2: Int32(k2), similarity: similarity))
        }
        if found.isEmpty { return Output(predictions: [], futurePotentials: nil) }
        if !shouldContinue() { throw EngineCancelledError() }

        // Ensemble predictive information (predictive_information.py).
        var totalFrequency = 0
        for c in found { totalFrequency += Int(c.frequency) }
        let F = Double(totalFrequency)
        // Group candidates with a non-empty future by the hash of their sorted future, verifying content.
        struct Keyed { var hash: UInt64; var index: Int32 }
        var keyed: [Keyed] = []
        keyed.reserveCapacity(found.count)
        for idx in found.indices {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            let k2 = Int(c.k2)
            if k2 < shape.eventCount { keyed.append(Keyed(hash: shape.suffixHashes[k2], index: Int32(idx))) }
        }
        keyed.sort { ($0.hash, $0.index) < ($1.hash, $1.index) }
        var groupWeights: [Double] = []
        var groupCounts: [Int] = []
        var groupFirst: [Int] = []
        var run = 0
        while run < keyed.count {
            var end = run + 1
            while end < keyed.count && keyed[end].hash == keyed[run].hash { end += 1 }
            // Within one hash run, split by content (true collisions are vanishingly rare).
            var runGroups: [Int32] = []
            for k in run..<end {
                let idx = Int(keyed[k].index)
                let c = found[idx]
                let shape = kb.shapes[Int(c.id)]
                var g: Int32 = -1
                for rg in runGroups {
                    let rep = found[groupFirst[Int(rg)]]
                    if shape.sameFuture(from: Int(c.k2), as: kb.shapes[Int(rep.id)], from: Int(rep.k2)) { g = rg; break }
                }
                if g < 0 {
                    g = Int32(groupWeights.count)
                    groupWeights.append(0)
                    groupCounts.append(0)
                    groupFirst.append(idx)
                    runGroups.append(g)
                }
                found[idx].group = g
                groupWeights[Int(g)] += Double(c.frequency) * c.similarity
                groupCounts[Int(g)] += 1
            }
            run = end
        }
        var W = 0.0
        for g in groupWeights.indices.sorted(by: { groupFirst[$0] < groupFirst[$1] }) { W += groupWeights[g] }
        let aggregates = groupWeights.map { W == 0 ? 0.0 : $0 / W }
        if F > 0 {
            for idx in found.indices where found[idx].group >= 0 {
                let c = found[idx]
                let agg = aggregates[Int(c.group)]
                let pi = agg == 0 ? 0.0 : (c.similarity * Double(c.frequency) / F) / agg
                found[idx].predictiveInformation = pi
                found[idx].potential = c.similarity * pi
            }
        }
        var futurePotentials: [FuturePotential] = []
        if F > 0 {
            struct ByAggregate { var aggregate: Double; var group: Int }
            var byAggregate = groupWeights.indices.map { ByAggregate(aggregate: aggregates[$0], group: $0) }
            byAggregate.sort { $0.aggregate > $1.aggregate || ($0.aggregate == $1.aggregate && $0.group < $1.group) }
            var groupOrder = byAggregate.map(\.group)
            // Ties in aggregate_potential: by the JSON text of the future.
            var i = 0
            while i < groupOrder.count {
                var j = i + 1
                while j < groupOrder.count && aggregates[groupOrder[j]] == aggregates[groupOrder[i]] { j += 1 }
                if j - i > 1 {
                    let keyed = groupOrder[i..<j].map { g -> (Int, ArraySlice<UInt8>) in
                        let c = found[groupFirst[g]]
                        return (g, kb.shapes[Int(c.id)].futureJSON(from: Int(c.k2)))
                    }
                    let sorted = keyed.sorted { $0.1.lexicographicallyPrecedes($1.1) }
                    for (offset, item) in sorted.enumerated() { groupOrder[i + offset] = item.0 }
                }
                i = j
            }
            futurePotentials.reserveCapacity(groupOrder.count)
            for g in groupOrder {
                let c = found[groupFirst[g]]
                futurePotentials.append(FuturePotential(
                    shape: kb.shapes[Int(c.id)], start: Int(c.k2), aggregatePotential: aggregates[g],
                    supportingPatterns: groupCounts[g], totalWeightedFrequency: groupWeights[g]))
            }
        }

        // Ranking: potential descending, then name ascending (Q13 fix), keep max_predictions.
        struct Ranked { var potential: Double; var nameKey: UInt64; var index: Int32 }
        var ranked = found.indices.map {
            Ranked(potential: found[$0].potential, nameKey: kb.shapes[Int(found[$0].id)].nameKey, index: Int32($0))
        }
        ranked.sort { l, r in
            if l.potential != r.potential { return l.potential > r.potential }
            if l.nameKey != r.nameKey { return l.nameKey < r.nameKey }
            return codePointLess(kb.shapes[Int(found[Int(l.index)].id)].name, kb.shapes[Int(found[Int(r.index)].id)].name)
        }
        if ranked.count > maxPredictions { ranked.removeLast(ranked.count - maxPredictions) }
        let order = ranked.map { Int($0.index) }

        // Materialise the kept predictions.
        let tsip = Double(kb.totals.totalSymbolsInPatternsFrequencies)
        let tpf = kb.totals.totalPatternFrequencies
        let nSym = kb.symbolNames.count
        func probability(_ id: Int32, inTable: Bool) -> Double {
            guard inTable, id >= 0, tsip > 0 else { return 0 }
            return Double(kb.symbolStats[Int(id)].patternMemberFrequency) / tsip
        }
        // State-derived quantities shared by all predictions.
        var stateCounts = [Int](repeating: 0, count: slotCount)
        for s in stateSlots { stateCounts[Int(s)] += 1 }
        let stateProb = (0..<slotCount).map { probability(slotIds[$0], inTable: inTable[$0]) }
        var normalizedEntropy = 0.0
        for s in stateSlots {
            normalizedEntropy += expectation(Double(stateCounts[Int(s)]) / Double(q), nSym)
        }
        var globalEntropy = 0.0
        for slot in 0..<slotCount { globalEntropy += expectation(stateProb[slot], nSym) }
        _ = tpf

        var eventRanges: [Range<Int>] = []
        var pos = 0
        for e in stm { eventRanges.append(pos..<(pos + e.count)); pos += e.count }

        var predictions: [Prediction] = []
        predictions.reserveCapacity(order.count)
        var generation = 0
        var matchedGen = [Int](repeating: 0, count: slotCount)
        var presentCount = [Int](repeating: 0, count: slotCount)
        var subBlocks: [BlockMatcher.Block] = []
        for idx in order {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            let record = kb.records[Int(c.id)]
            let k1 = Int(c.k1), k2 = Int(c.k2)
            let blocks = blockStore[Int(c.blockStart)..<Int(c.blockStart + c.blockCount)]
            let presentStart = k1 == 0 ? 0 : shape.eventEnds[k1 - 1]
            let presentEnd = k2 == 0 ? 0 : shape.eventEnds[k2 - 1]
            generation += 1
            var matches: [String] = []
            for blk in blocks {
                for j in blk.b..<(blk.b + blk.size) {
                    matches.append(flat[j])
                    matchedGen[Int(stateSlots[j])] = generation
                }
            }
            @inline(__always) func slotOf(_ id: Int32) -> Int32 {
                if let directSlots { return directSlots[Int(id)] }
                return slotMap.get(id)
            }
            let events = shape.events
            let present = Array(events[k1..<k2])
            var missing: [[String]] = []
            missing.reserveCapacity(k2 - k1)
            for i in 0..<slotCount { presentCount[i] = 0 }
            var otherPresent: [Int32] = []
            for k in k1..<k2 {
                let start = shape.eventStart(k)
                var mm: [String] = []
                for (off, sym) in events[k].enumerated() {
                    let id = shape.flatIds[start + off]
                    let slot = slotOf(id)
                    if slot >= 0 {
                        presentCount[Int(slot)] += 1
                        if matchedGen[Int(slot)] != generation { mm.append(sym) }
                    } else {
                        otherPresent.append(id)
                        mm.append(sym)
                    }
                }
                missing.append(mm)
            }
            var extras: [[String]] = []
            extras.reserveCapacity(eventRanges.count)
            for range in eventRanges {
                var e: [String] = []
                for j in range where presentCount[Int(stateSlots[j])] == 0 { e.append(flat[j]) }
                extras.append(e)
            }
            // snr: extras_count = len(state) − matched size of SequenceMatcher(present_flat, state).
            let m = matches.count
            let lo = blocks.first?.a ?? 0
            let hi = blocks.last.map { $0.a + $0.size } ?? shape.length
            let sub = shape.flatIds[lo..<hi].map { slotOf($0) }
            subBlocks.removeAll(keepingCapacity: true)
            sub.withUnsafeBufferPointer { _ = matcher.matchingBlocks($0, into: &subBlocks) }
            let extrasCount = q - subBlocks.reduce(0) { $0 + $1.size }
            let snrDen = 2.0 * Double(m) + Double(extrasCount)
            let snr = snrDen > 0 ? (2.0 * Double(m) - Double(extrasCount)) / snrDen : 0.0
            let presentLength = presentEnd - presentStart
            // itfdf: cosine distance of probability-weighted counts over present ∪ state.
            var dot = 0.0, normS = 0.0, normP = 0.0
            var anyS = false, anyP = false
            for slot in 0..<slotCount {
                let p = stateProb[slot]
                let sv = p * Double(stateCounts[slot])
                let pv = p * Double(presentCount[slot])
                dot += sv * pv; normS += sv * sv; normP += pv * pv
                if sv != 0 { anyS = true }
                if pv != 0 { anyP = true }
            }
            // Present symbols outside the state are missing symbols, hence in the probability table.
            otherPresent.sort()
            var oi = 0
            while oi < otherPresent.count {
                var oj = oi + 1
                while oj < otherPresent.count && otherPresent[oj] == otherPresent[oi] { oj += 1 }
                let pv = probability(otherPresent[oi], inTable: true) * Double(oj - oi)
                normP += pv * pv
                if pv != 0 { anyP = true }
                oi = oj
            }
            var distance = 1.0
            if anyS && anyP {
                let ns = normS.squareRoot(), np = normP.squareRoot()
                if ns != 0 && np != 0 {
                    distance = 1 - dot / (ns * np)
                    if distance.isNaN { distance = 1.0 }
                }
            }
            let itfdf = F > 0 ? 1 - (distance * Double(c.frequency) / F) : 0.0
            let patternProbability = F > 0 ? Double(c.frequency) / F : 0.0
            predictions.append(Prediction(
                type: "prototypical", name: shape.name, frequency: Int(c.frequency),
                emotives: Accumulation.averageEmotives(record.emotives ?? []),
                matches: matches, past: Array(events[0..<k1]), present: present, missing: missing,
                extras: extras, future: Array(events[k2...]), sequence: events,
                potential: c.potential,
                evidence: shape.length > 0 ? Double(m) / Double(shape.length) : 0.0,
                similarity: c.similarity, fragmentation: Double(c.blockCount - 1), snr: snr,
                entropy: 0.0, normalizedEntropy: normalizedEntropy, globalNormalizedEntropy: globalEntropy,
                confluence: 0.0, predictiveInformation: c.predictiveInformation,
                confidence: presentLength > 0 ? Double(m) / Double(presentLength) : 0.0,
                itfdfSimilarity: itfdf, patternProbability: patternProbability,
                weightedStrength: c.similarity * patternProbability))
        }
        return Output(predictions: predictions, futurePotentials: FuturePotentials(futurePotentials))
    }

    /// Candidate ids from the length partitions (LC) and the inverted index over `state[:10]` (SC).
    private func candidates(q: Int, stateIds: [Int32]) -> [Int32] {
        let count = kb.shapes.count
        var marks = [UInt8](repeating: 0, count: count)
        let partition = q / KnowledgeState.partitionSize
        let tolerance = max(1, Int(0.5 * Double(q) / Double(KnowledgeState.partitionSize)))
        var lcNonEmpty = false
        for p in (partition - tolerance)...(partition + tolerance) {
            if let ids = kb.partitions[p] {
                for id in ids { marks[Int(id)] |= 1 }
                if !ids.isEmpty { lcNonEmpty = true }
            }
        }
        for id in stateIds.prefix(10) where id >= 0 {
            for pid in kb.postings[Int(id)] { marks[Int(pid)] |= 2 }
        }
        var out: [Int32] = []
        for i in 0..<count {
            let m = marks[i]
            let keep: Bool
            if q <= 2 {
                keep = m != 0
            } else if lcNonEmpty {
                keep = m == 3
            } else {
                keep = m & 2 != 0
            }
            if keep { out.append(Int32(i)) }
        }
        return out
    }

    /// `expectation(p, n) = −p·log_n(p)` for p > 0 and n > 1, else 0.
    private func expectation(_ p: Double, _ n: Int) -> Double {
        guard p > 0, n > 1 else { return 0 }
        return -p * (log(p) / log(Double(n)))
    }
}
