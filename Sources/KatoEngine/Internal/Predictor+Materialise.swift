/// Builds the `Prediction` values (alignment bits, KB-statistics metrics) for the kept candidates only.
///
/// Three loops over the kept candidates (eighth pass: the per-prediction fixed costs were most of a
/// 1,000-pattern query): the sizes of the alignment bit sets (so the one buffer of the list is
/// allocated once, instead of grown per prediction), then the bits and the metrics (unchecked
/// buffers, scratch arrays reused by count instead of `removeAll`), then the values themselves,
/// initialised in place in the result with the finished batch (no copy per prediction, no second
/// pass that writes the batch into each).
extension Predictor {
    /// What the second loop computes per kept prediction for the third.
    private struct Metrics {
        var bitsAt = 0
        var matchCount = 0
        var presentLength = 0
        var snr = 0.0
        var itfdf = 0.0
        var patternProbability = 0.0
    }

    /// Sorts the first `count` ids ascending in place: an insertion sort, as these are a few per
    /// prediction (the slots one touched, its present symbols outside the state).
    @inline(__always)
    private static func sortAscending(_ ids: UnsafeMutableBufferPointer<Int32>, count: Int) {
        var x = 1
        while x < count {
            let e = ids[x]
            var y = x
            while y > 0 && ids[y - 1] > e { ids[y] = ids[y - 1]; y -= 1 }
            ids[y] = e
            x += 1
        }
    }

    func materialise(order: [Int], scored: Scored, state: State) -> [Prediction] {
        let kept = order.count
        if kept == 0 { return [] }
        let found = scored.found
        let blockStore = scored.blockStore
        let inTable = scored.inTable
        let directSlots = scored.directSlots
        var matcher = scored.matcher
        let stateSlots = state.slots
        let slotIds = state.slotIds
        let slotMap = state.slotMap
        let slotCount = slotIds.count
        let q = state.count
        var totalFrequency = 0
        for c in found { totalFrequency += Int(c.frequency) }
        let F = Double(totalFrequency)
        let tsip = Double(kb.totals.totalSymbolsInPatternsFrequencies)
        let nSym = kb.liveSymbolCount
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

        var stmEnds: [Int32] = []
        stmEnds.reserveCapacity(stm.count)
        var pos = 0
        for e in stm {
            pos += e.count
            stmEnds.append(Int32(pos))
        }

        // Loop 1: the kept shapes and where each prediction's bits start in the list's one buffer:
        // [matched STM positions | extras STM positions | missing present positions].
        let stmWords = (q + 63) >> 6
        var shapes: [PatternShape] = []
        shapes.reserveCapacity(kept)
        var metrics = [Metrics](repeating: Metrics(), count: kept)
        var totalWords = 0
        var longest = 0
        for (n, idx) in order.enumerated() {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            let v = shape.packedView
            let presentLength = (c.k2 == 0 ? 0 : v.end(Int(c.k2) - 1)) - v.start(Int(c.k1))
            metrics[n].bitsAt = totalWords
            metrics[n].presentLength = presentLength
            totalWords += 2 * stmWords + ((presentLength + 63) >> 6)
            longest = max(longest, shape.length)
            shapes.append(shape)
        }

        // Loop 2: the bits and the metrics. Scratch by count (no `removeAll` per prediction).
        var words = [UInt64](repeating: 0, count: totalWords)
        var subBlocks: [BlockMatcher.Block] = []
        subBlocks.reserveCapacity(4 * kept)
        var normS = 0.0
        var anyS = false
        for slot in 0..<slotCount {
            let sv = stateProb[slot] * Double(stateCounts[slot])
            normS += sv * sv
            if sv != 0 { anyS = true }
        }
        // The symbol → slot table as a buffer lent for the loop: read through the optional array, each
        // lookup retained and released the table (≈7 per prediction, ≈30k instructions at 1,000 patterns).
        let directTable = directSlots ?? []
        let useDirect = directSlots != nil
        // The per-prediction scratch (generation stamps and counts per slot, the touched slots, the
        // present ids outside the state, the slots of the matched span) in one temporary allocation:
        // an array each cost ≈700 instructions (allocation through generic metadata, then release).
        let spanCap = max(1, longest)
        // (Stack memory when small; plain values, so nothing to deinitialise.)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * slotCount) { perSlot in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * spanCap + max(1, slotCount)) { small in
        perSlot.initialize(repeating: 0)
        small.initialize(repeating: 0)
        let matchedGen = UnsafeMutableBufferPointer(rebasing: perSlot[0..<slotCount])
        let presentCount = UnsafeMutableBufferPointer(rebasing: perSlot[slotCount..<(2 * slotCount)])
        let otherPresent = UnsafeMutableBufferPointer(rebasing: small[0..<spanCap])
        let sub = UnsafeMutableBufferPointer(rebasing: small[spanCap..<(2 * spanCap)])
        let touched = UnsafeMutableBufferPointer(rebasing: small[(2 * spanCap)..<(2 * spanCap + max(1, slotCount))])
        words.withUnsafeMutableBufferPointer { words in
        directTable.withUnsafeBufferPointer { directTable in
        stateSlots.withUnsafeBufferPointer { stateSlots in
        stateProb.withUnsafeBufferPointer { stateProb in
        stateCounts.withUnsafeBufferPointer { stateCounts in
        blockStore.withUnsafeBufferPointer { blockStore in
            @inline(__always) func slotOf(_ id: Int32) -> Int32 {
                useDirect ? directTable[Int(id)] : slotMap.get(id)
            }
            for (n, idx) in order.enumerated() {
                let c = found[idx]
                let shape = shapes[n]
                let v = shape.packedView
                let generation = n + 1
                let k1 = Int(c.k1)
                let blocks = UnsafeBufferPointer(rebasing: blockStore[Int(c.blockStart)..<Int(c.blockStart + c.blockCount)])
                let presentStart = v.start(k1)
                let presentLength = metrics[n].presentLength
                let bitsAt = metrics[n].bitsAt
                let extrasAt = bitsAt + stmWords, missingAt = bitsAt + 2 * stmWords
                var m = 0
                for blk in blocks {
                    m += blk.size
                    for j in blk.b..<(blk.b + blk.size) {
                        words[bitsAt + (j >> 6)] |= 1 << UInt64(j & 63)
                        matchedGen[Int(stateSlots[j])] = generation
                    }
                }
                var others = 0, touchedCount = 0
                for b in 0..<presentLength {
                    let id = v.id(presentStart + b)
                    let slot = slotOf(id)
                    let missing: Bool
                    if slot >= 0 {
                        if presentCount[Int(slot)] == 0 { touched[touchedCount] = slot; touchedCount += 1 }
                        presentCount[Int(slot)] += 1
                        missing = matchedGen[Int(slot)] != generation
                    } else {
                        otherPresent[others] = id
                        others += 1
                        missing = true
                    }
                    if missing { words[missingAt + (b >> 6)] |= 1 << UInt64(b & 63) }
                }
                for j in 0..<q where presentCount[Int(stateSlots[j])] == 0 {
                    words[extrasAt + (j >> 6)] |= 1 << UInt64(j & 63)
                }
                // snr: extras_count = len(state) − matched size of SequenceMatcher(present_flat, state).
                let lo = blocks.first?.a ?? 0
                let hi = blocks.last.map { $0.a + $0.size } ?? shape.length
                for x in lo..<hi { sub[x - lo] = slotOf(v.id(x)) }
                let subStart = subBlocks.count
                _ = matcher.matchingBlocks(UnsafeBufferPointer(rebasing: sub[0..<(hi - lo)]), into: &subBlocks)
                var subMatched = 0
                for b in subStart..<subBlocks.count { subMatched += subBlocks[b].size }
                let extrasCount = q - subMatched
                let snrDen = 2.0 * Double(m) + Double(extrasCount)
                let snr = snrDen > 0 ? (2.0 * Double(m) - Double(extrasCount)) / snrDen : 0.0
                // itfdf: cosine distance of probability-weighted counts over present ∪ state.
                // The state's norm is the same for every prediction (computed once, same order); of the
                // present side only the slots this prediction touched count: every other slot adds
                // `+0.0` (p, counts ≥ 0) to sums that start at `+0.0`, which leaves them bit for bit as
                // they were. The touched slots are summed in ascending slot order, as the full loop did.
                Self.sortAscending(touched, count: touchedCount)
                var dot = 0.0, normP = 0.0
                var anyP = false
                for t in 0..<touchedCount {
                    let slot = Int(touched[t])
                    let p = stateProb[slot]
                    let sv = p * Double(stateCounts[slot])
                    let pv = p * Double(presentCount[slot])
                    dot += sv * pv; normP += pv * pv
                    if pv != 0 { anyP = true }
                    presentCount[slot] = 0
                }
                // Present symbols outside the state are missing symbols, hence in the probability table;
                // summed in ascending id order (insertion sort: a few per prediction).
                Self.sortAscending(otherPresent, count: others)
                var oi = 0
                while oi < others {
                    var oj = oi + 1
                    while oj < others && otherPresent[oj] == otherPresent[oi] { oj += 1 }
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
                metrics[n].matchCount = m
                metrics[n].snr = snr
                metrics[n].itfdf = F > 0 ? 1 - (distance * Double(c.frequency) / F) : 0.0
                metrics[n].patternProbability = F > 0 ? Double(c.frequency) / F : 0.0
            }
        }
        }
        }
        }
        }
        }
        }
        }

        // Loop 3: the values, each initialised in place in the result (no copy) with the finished batch.
        // The batch owns the kept patterns (the array loop 1 built) and their emotive windows: each
        // prediction then holds one reference (the batch), not three.
        let emotiveWindows = [[[String: Double]]?](unsafeUninitializedCapacity: kept) { windows, initialized in
            for (n, idx) in order.enumerated() {
                windows.initializeElement(at: n, to: kb.records[Int(found[idx].id)].emotives)
            }
            initialized = kept
        }
        let batch = PredictionBatch(
            flat: state.flat, stmEnds: stmEnds, words: words, shapes: shapes, emotiveWindows: emotiveWindows)
        // Each element starts as a reference-free template and its fields are stored in place: a value
        // built whole and then moved into the buffer was copied (4 retains) and the original destroyed.
        let template = Prediction(
            frequency: 0, alignment: nil, potential: 0, evidence: 0, similarity: 0, fragmentation: 0, snr: 0,
            entropy: 0.0, normalizedEntropy: normalizedEntropy, globalNormalizedEntropy: globalEntropy,
            confluence: 0.0, predictiveInformation: 0, confidence: 0, itfdfSimilarity: 0, patternProbability: 0,
            weightedStrength: 0)
        return [Prediction](unsafeUninitializedCapacity: kept) { buffer, initialized in
            for (n, idx) in order.enumerated() {
                let c = found[idx]
                let shape = shapes[n]
                let mt = metrics[n]
                let m = mt.matchCount
                buffer.initializeElement(at: n, to: template)
                initialized = n + 1
                buffer[n].alignment = Prediction.Alignment(
                    batch: batch, index: Int32(n),
                    k1: c.k1, k2: c.k2, bitsAt: Int32(mt.bitsAt), matchCount: Int32(m))
                buffer[n].frequency = Int(c.frequency)
                buffer[n].potential = c.potential
                buffer[n].evidence = shape.length > 0 ? Double(m) / Double(shape.length) : 0.0
                buffer[n].similarity = c.similarity
                buffer[n].fragmentation = Double(c.blockCount - 1)
                buffer[n].snr = mt.snr
                buffer[n].predictiveInformation = c.predictiveInformation
                buffer[n].confidence = mt.presentLength > 0 ? Double(m) / Double(mt.presentLength) : 0.0
                buffer[n].itfdfSimilarity = mt.itfdf
                buffer[n].patternProbability = mt.patternProbability
                buffer[n].weightedStrength = c.similarity * mt.patternProbability
            }
        }
    }
}
