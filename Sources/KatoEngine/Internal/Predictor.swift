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

    /// Per-candidate facts gathered in the first pass.
    private struct Candidate {
        var id: Int32
        var similarity: Double
        var frequency: Int
        var blocks: [BlockMatcher.Block]
        var k1: Int
        var k2: Int
        var group: Int = -1
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
            let blocks = aSlots.withUnsafeBufferPointer { matcher.matchingBlocks($0) }
            if blocks.isEmpty && !thresholdIsZero { continue }

            let p: Int
            let r: Int
            if let first = blocks.first, let last = blocks.last {
                p = first.a
                r = last.a + last.size - first.a
            } else {
                p = 0
                r = shape.length
            }
            // Event boundaries (Prediction.__init__).
            var c2 = 0
            var ev = 0
            while c2 < p { c2 += shape.events[ev].count; ev += 1 }
            var k1 = ev
            while c2 < p + r { c2 += shape.events[ev].count; ev += 1 }
            let k2 = ev
            // Mark matched symbols (by value).
            let stampValue = found.count
            for blk in blocks {
                for j in blk.b..<(blk.b + blk.size) {
                    let slot = Int(stateSlots[j])
                    matchedStamp[slot] = stampValue
                    inTable[slot] = true
                }
            }
            // Q20 fix-up: move past[-1] into present if it contains matches[0] anywhere.
            if k1 > 0, let first = blocks.first {
                let firstMatch = stateIds[first.b]
                let start = shape.eventStart(k1 - 1)
                if shape.flatIds[start..<shape.eventEnds[k1 - 1]].contains(firstMatch) { k1 -= 1 }
            }
            // Missing symbols that are also state symbols enter the probability table.
            let presentStart = k1 == 0 ? 0 : shape.eventEnds[k1 - 1]
            let presentEnd = k2 == 0 ? 0 : shape.eventEnds[k2 - 1]
            for idx in presentStart..<presentEnd {
                let slot = aSlots[idx]
                if slot >= 0 && matchedStamp[Int(slot)] != stampValue { inTable[Int(slot)] = true }
            }
            found.append(Candidate(
                id: id, similarity: similarity, frequency: kb.records[Int(id)].frequency,
                blocks: blocks, k1: k1, k2: k2))
        }
        if found.isEmpty { return Output(predictions: [], futurePotentials: nil) }
        if !shouldContinue() { throw EngineCancelledError() }

        // Ensemble predictive information (predictive_information.py).
        var totalFrequency = 0
        for c in found { totalFrequency += c.frequency }
        let F = Double(totalFrequency)
        var groupIndex: [FutureKey: Int] = [:]
        var groupWeights: [Double] = []
        var groupCounts: [Int] = []
        var groupFirst: [Int] = []
        for idx in found.indices {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            if c.k2 >= shape.events.count { continue }
            let key = FutureKey(shape: shape, start: c.k2)
            let g: Int
            if let existing = groupIndex[key] {
                g = existing
            } else {
                g = groupWeights.count
                groupIndex[key] = g
                groupWeights.append(0)
                groupCounts.append(0)
                groupFirst.append(idx)
            }
            found[idx].group = g
            groupWeights[g] += Double(c.frequency) * c.similarity
            groupCounts[g] += 1
        }
        var W = 0.0
        for w in groupWeights { W += w }
        let aggregates = groupWeights.map { W == 0 ? 0.0 : $0 / W }
        if F > 0 {
            for idx in found.indices where found[idx].group >= 0 {
                let c = found[idx]
                let agg = aggregates[c.group]
                let pi = agg == 0 ? 0.0 : (c.similarity * Double(c.frequency) / F) / agg
                found[idx].predictiveInformation = pi
                found[idx].potential = c.similarity * pi
            }
        }
        var futurePotentials: [FuturePotential] = []
        if F > 0 {
            futurePotentials = groupWeights.indices.map { g in
                let c = found[groupFirst[g]]
                let shape = kb.shapes[Int(c.id)]
                return FuturePotential(
                    future: Array(shape.events[c.k2...]), aggregatePotential: aggregates[g],
                    supportingPatterns: groupCounts[g], totalWeightedFrequency: groupWeights[g])
            }
            let keyed = futurePotentials.map { ($0, PythonJSON.dumps($0.future)) }
            futurePotentials = keyed.sorted { l, r in
                if l.0.aggregatePotential != r.0.aggregatePotential {
                    return l.0.aggregatePotential > r.0.aggregatePotential
                }
                return codePointLess(l.1, r.1)
            }.map(\.0)
        }

        // Ranking: potential descending, then name ascending (Q13 fix), keep max_predictions.
        var order = Array(found.indices)
        order.sort { l, r in
            let a = found[l], b = found[r]
            if a.potential != b.potential { return a.potential > b.potential }
            return kb.shapes[Int(a.id)].name < kb.shapes[Int(b.id)].name
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
            let presentStart = c.k1 == 0 ? 0 : shape.eventEnds[c.k1 - 1]
            let presentEnd = c.k2 == 0 ? 0 : shape.eventEnds[c.k2 - 1]
            var matchedIds = Set<Int32>()
            var matches: [String] = []
            for blk in c.blocks {
                for j in blk.b..<(blk.b + blk.size) {
                    matches.append(flat[j])
                    matchedIds.insert(stateIds[j])
                }
            }
            let present = Array(shape.events[c.k1..<c.k2])
            var missing: [[String]] = []
            for k in c.k1..<c.k2 {
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
            if let first = c.blocks.first, let last = c.blocks.last {
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
                type: "prototypical", name: shape.name, frequency: c.frequency,
                emotives: Accumulation.averageEmotives(record.emotives ?? []),
                matches: matches, past: Array(shape.events[0..<c.k1]), present: present, missing: missing,
                extras: extras, future: Array(shape.events[c.k2...]), sequence: shape.events,
                potential: c.potential,
                evidence: shape.length > 0 ? Double(m) / Double(shape.length) : 0.0,
                similarity: c.similarity, fragmentation: Double(c.blocks.count - 1), snr: snr,
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

/// A future (suffix of a pattern's events) compared up to the order of symbols inside each event.
private struct FutureKey: Hashable {
    let shape: PatternShape
    let start: Int

    static func == (l: FutureKey, r: FutureKey) -> Bool {
        let a = l.shape.sortedEventIds[l.start...]
        let b = r.shape.sortedEventIds[r.start...]
        return a.elementsEqual(b)
    }

    func hash(into hasher: inout Hasher) {
        for e in shape.sortedEventIds[start...] {
            hasher.combine(e.count)
            for s in e { hasher.combine(s) }
        }
    }
}
