/// Builds the `Prediction` values (strings, KB-statistics metrics) for the kept candidates only.
extension Predictor {
    func materialise(order: [Int], scored: Scored, state: State) -> [Prediction] {
        let found = scored.found
        let blockStore = scored.blockStore
        let inTable = scored.inTable
        let directSlots = scored.directSlots
        var matcher = scored.matcher
        let stateSlots = state.slots
        let slotIds = state.slotIds
        let slotMap = state.slotMap
        let slotCount = slotIds.count
        let flat = state.flat
        let q = state.count
        var totalFrequency = 0
        for c in found { totalFrequency += Int(c.frequency) }
        let F = Double(totalFrequency)
        // Materialise the kept predictions.
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

        // Compact predictions: the alignment of each is a few bit sets in one buffer shared by the
        // list (matched STM positions, extras STM positions, missing present positions); the string
        // arrays are built only when read (`Prediction`'s accessors), and wire encoders read the
        // symbols in place.
        let stmWords = (q + 63) >> 6
        var words: [UInt64] = []
        var predictions: [Prediction] = []
        predictions.reserveCapacity(order.count)
        var generation = 0
        var matchedGen = [Int](repeating: 0, count: slotCount)
        var presentCount = [Int](repeating: 0, count: slotCount)
        var subBlocks: [BlockMatcher.Block] = []
        // Reused across predictions (cleared, capacity kept).
        var otherPresent: [Int32] = []
        var sub: [Int32] = []
        for idx in order {
            let c = found[idx]
            let shape = kb.shapes[Int(c.id)]
            shape.withPacked { v in
            let record = kb.records[Int(c.id)]
            let k1 = Int(c.k1), k2 = Int(c.k2)
            let blocks = blockStore[Int(c.blockStart)..<Int(c.blockStart + c.blockCount)]
            let presentStart = k1 == 0 ? 0 : shape.eventEnds[k1 - 1]
            let presentEnd = k2 == 0 ? 0 : shape.eventEnds[k2 - 1]
            let presentLength = presentEnd - presentStart
            generation += 1
            let bitsAt = words.count
            words.append(contentsOf: repeatElement(0, count: 2 * stmWords + ((presentLength + 63) >> 6)))
            let extrasAt = bitsAt + stmWords, missingAt = bitsAt + 2 * stmWords
            var m = 0
            for blk in blocks {
                m += blk.size
                for j in blk.b..<(blk.b + blk.size) {
                    words[bitsAt + (j >> 6)] |= 1 << UInt64(j & 63)
                    matchedGen[Int(stateSlots[j])] = generation
                }
            }
            @inline(__always) func slotOf(_ id: Int32) -> Int32 {
                if let directSlots { return directSlots[Int(id)] }
                return slotMap.get(id)
            }
            for i in 0..<slotCount { presentCount[i] = 0 }
            otherPresent.removeAll(keepingCapacity: true)
            for x in presentStart..<presentEnd {
                let id = v.id(x)
                let slot = slotOf(id)
                let missing: Bool
                if slot >= 0 {
                    presentCount[Int(slot)] += 1
                    missing = matchedGen[Int(slot)] != generation
                } else {
                    otherPresent.append(id)
                    missing = true
                }
                if missing {
                    let b = x - presentStart
                    words[missingAt + (b >> 6)] |= 1 << UInt64(b & 63)
                }
            }
            for j in 0..<q where presentCount[Int(stateSlots[j])] == 0 {
                words[extrasAt + (j >> 6)] |= 1 << UInt64(j & 63)
            }
            // snr: extras_count = len(state) − matched size of SequenceMatcher(present_flat, state).
            let lo = blocks.first?.a ?? 0
            let hi = blocks.last.map { $0.a + $0.size } ?? shape.length
            sub.removeAll(keepingCapacity: true)
            for x in lo..<hi { sub.append(slotOf(v.id(x))) }
            subBlocks.removeAll(keepingCapacity: true)
            sub.withUnsafeBufferPointer { _ = matcher.matchingBlocks($0, into: &subBlocks) }
            let extrasCount = q - subBlocks.reduce(0) { $0 + $1.size }
            let snrDen = 2.0 * Double(m) + Double(extrasCount)
            let snr = snrDen > 0 ? (2.0 * Double(m) - Double(extrasCount)) / snrDen : 0.0
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
                frequency: Int(c.frequency),
                alignment: Prediction.Alignment(
                    shape: shape, batch: nil, emotiveWindow: record.emotives, k1: Int32(k1), k2: Int32(k2),
                    bitsAt: Int32(bitsAt), matchCount: Int32(m)),
                potential: c.potential,
                evidence: shape.length > 0 ? Double(m) / Double(shape.length) : 0.0,
                similarity: c.similarity, fragmentation: Double(c.blockCount - 1), snr: snr,
                entropy: 0.0, normalizedEntropy: normalizedEntropy, globalNormalizedEntropy: globalEntropy,
                confluence: 0.0, predictiveInformation: c.predictiveInformation,
                confidence: presentLength > 0 ? Double(m) / Double(presentLength) : 0.0,
                itfdfSimilarity: itfdf, patternProbability: patternProbability,
                weightedStrength: c.similarity * patternProbability))
            }
        }
        let batch = PredictionBatch(flat: flat, stmEnds: stmEnds, words: words)
        for i in predictions.indices { predictions[i].alignment!.batch = batch }
        return predictions
    }
}
