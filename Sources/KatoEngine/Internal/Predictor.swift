#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Computes KATO v2.0.0 predictions for one STM against a knowledge-base snapshot (kato-semantics §4).
///
/// Hot path: the candidate filter (Q11) and the character similarity run over every candidate;
/// matching blocks and event boundaries over every candidate that passes the threshold; the full
/// prediction objects (strings, metrics) only for the `max_predictions` best.
struct Predictor {
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
        var futurePotentials: [FuturePotential]?
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
            let similarity = indel.similarity(shape.chars)
            if !(similarity >= recallThreshold) { continue }
            aSlots.removeAll(keepingCapacity: true)
            for s in shape.flatIds { aSlots.append(slotMap.get(s)) }
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
        var groupByHash: [UInt64: Int32] = [:]
        groupByHash.reserveCapacity(found.count)
        var collisionGroups: [Int32] = []
        var groupWeights: [Double] = []
        var groupCounts: [Int] = []
        var groupFirst: [Int] = []
        for idx in found.indices {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            let k2 = Int(c.k2)
            if k2 >= shape.events.count { continue }
            let hash = shape.suffixHashes[k2]
            var g: Int32 = -1
            if let existing = groupByHash[hash] {
                let rep = found[groupFirst[Int(existing)]]
                if shape.sameFuture(from: k2, as: kb.shapes[Int(rep.id)], from: Int(rep.k2)) {
                    g = existing
                } else {
                    for cg in collisionGroups {
                        let r2 = found[groupFirst[Int(cg)]]
                        if shape.sameFuture(from: k2, as: kb.shapes[Int(r2.id)], from: Int(r2.k2)) { g = cg; break }
                    }
                    if g < 0 { collisionGroups.append(Int32(groupWeights.count)) }
                }
            } else {
                groupByHash[hash] = Int32(groupWeights.count)
            }
            if g < 0 {
                g = Int32(groupWeights.count)
                groupWeights.append(0)
                groupCounts.append(0)
                groupFirst.append(idx)
            }
            found[idx].group = g
            groupWeights[Int(g)] += Double(c.frequency) * c.similarity
            groupCounts[Int(g)] += 1
        }
        var W = 0.0
        for w in groupWeights { W += w }
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
            var groupOrder = Array(groupWeights.indices)
            groupOrder.sort { aggregates[$0] > aggregates[$1] }
            // Ties in aggregate_potential: by the JSON text of the future.
            var i = 0
            while i < groupOrder.count {
                var j = i + 1
                while j < groupOrder.count && aggregates[groupOrder[j]] == aggregates[groupOrder[i]] { j += 1 }
                if j - i > 1 {
                    let keyed = groupOrder[i..<j].map { g -> (Int, String) in
                        let c = found[groupFirst[g]]
                        return (g, PythonJSON.dumps(Array(kb.shapes[Int(c.id)].events[Int(c.k2)...])))
                    }
                    let sorted = keyed.sorted { codePointLess($0.1, $1.1) }
                    for (offset, item) in sorted.enumerated() { groupOrder[i + offset] = item.0 }
                }
                i = j
            }
            futurePotentials.reserveCapacity(groupOrder.count)
            for g in groupOrder {
                let c = found[groupFirst[g]]
                futurePotentials.append(FuturePotential(
                    future: Array(kb.shapes[Int(c.id)].events[Int(c.k2)...]), aggregatePotential: aggregates[g],
                    supportingPatterns: groupCounts[g], totalWeightedFrequency: groupWeights[g]))
            }
        }

        // Ranking: potential descending, then name ascending (Q13 fix), keep max_predictions.
        var order = Array(found.indices)
        order.sort { l, r in
            let a = found[l].potential, b = found[r].potential
            if a != b { return a > b }
            return kb.shapes[Int(found[l].id)].name < kb.shapes[Int(found[r].id)].name
        }
        if order.count > maxPredictions { order.removeLast(order.count - maxPredictions) }

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
        for idx in order {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            let record = kb.records[Int(c.id)]
            let k1 = Int(c.k1), k2 = Int(c.k2)
            let blocks = blockStore[Int(c.blockStart)..<Int(c.blockStart + c.blockCount)]
            let presentStart = k1 == 0 ? 0 : shape.eventEnds[k1 - 1]
            let presentEnd = k2 == 0 ? 0 : shape.eventEnds[k2 - 1]
            var matchedIds = Set<Int32>()
            var matches: [String] = []
            for blk in blocks {
                for j in blk.b..<(blk.b + blk.size) {
                    matches.append(flat[j])
                    matchedIds.insert(stateIds[j])
                }
            }
            let present = Array(shape.events[k1..<k2])
            var missing: [[String]] = []
            for k in k1..<k2 {
                let start = shape.eventStart(k)
                var m: [String] = []
                for (off, sym) in shape.events[k].enumerated() where !matchedIds.contains(shape.flatIds[start + off]) {
                    m.append(sym)
                }
                missing.append(m)
            }
            let presentIds = Set(shape.flatIds[presentStart..<presentEnd])
            var extras: [[String]] = []
            for range in eventRanges {
                var e: [String] = []
                for j in range where !presentIds.contains(stateIds[j]) { e.append(flat[j]) }
                extras.append(e)
            }
            // snr: extras_count = len(state) − matched size of SequenceMatcher(present_flat, state).
            let m = matches.count
            let extrasCount: Int
            if let first = blocks.first, let last = blocks.last {
                let lo = first.a, hi = last.a + last.size
                let sub = shape.flatIds[lo..<hi].map { slotMap.get($0) }
                let subBlocks = sub.withUnsafeBufferPointer { matcher.matchingBlocks($0) }
                extrasCount = q - subBlocks.reduce(0) { $0 + $1.size }
            } else {
                let all = shape.flatIds.map { slotMap.get($0) }
                let subBlocks = all.withUnsafeBufferPointer { matcher.matchingBlocks($0) }
                extrasCount = q - subBlocks.reduce(0) { $0 + $1.size }
            }
            let snrDen = 2.0 * Double(m) + Double(extrasCount)
            let snr = snrDen > 0 ? (2.0 * Double(m) - Double(extrasCount)) / snrDen : 0.0
            let presentLength = presentEnd - presentStart
            // itfdf: cosine distance of probability-weighted counts over present ∪ state.
            var presentCounts: [Int32: Int] = [:]
            for i in presentStart..<presentEnd { presentCounts[shape.flatIds[i], default: 0] += 1 }
            var dot = 0.0, normS = 0.0, normP = 0.0
            var anyS = false, anyP = false
            for slot in 0..<slotCount {
                let id = slotIds[slot]
                let p = stateProb[slot]
                let sv = p * Double(stateCounts[slot])
                let pv = p * Double(presentCounts[id] ?? 0)
                dot += sv * pv; normS += sv * sv; normP += pv * pv
                if sv != 0 { anyS = true }
                if pv != 0 { anyP = true }
            }
            for (id, count) in presentCounts where slotMap.get(id) < 0 {
                // In present but not in state: a missing symbol, hence in the table.
                let pv = probability(id, inTable: true) * Double(count)
                normP += pv * pv
                if pv != 0 { anyP = true }
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
                matches: matches, past: Array(shape.events[0..<k1]), present: present, missing: missing,
                extras: extras, future: Array(shape.events[k2...]), sequence: shape.events,
                potential: c.potential,
                evidence: shape.length > 0 ? Double(m) / Double(shape.length) : 0.0,
                similarity: c.similarity, fragmentation: Double(c.blockCount - 1), snr: snr,
                entropy: 0.0, normalizedEntropy: normalizedEntropy, globalNormalizedEntropy: globalEntropy,
                confluence: 0.0, predictiveInformation: c.predictiveInformation,
                confidence: presentLength > 0 ? Double(m) / Double(presentLength) : 0.0,
                itfdfSimilarity: itfdf, patternProbability: patternProbability,
                weightedStrength: c.similarity * patternProbability))
        }
        return Output(predictions: predictions, futurePotentials: futurePotentials)
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
