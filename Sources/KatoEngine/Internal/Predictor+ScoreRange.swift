import CKatoSIMD

/// The candidate scoring loop of ``Predictor``: one contiguous range of candidates, scored exactly
/// (Predictor.swift says which shortcuts are taken and why they are exact).
extension Predictor {
    /// Scores `ids` (a contiguous range of the ascending candidates).
    func scoreRange(
        _ candidateIds: ArraySlice<Int32>, _ scoring: Scoring, _ state: State, shouldContinue: () -> Bool
    ) throws -> Scored {
        let queryLength = scoring.queryLength
        let indel = scoring.indel
        let directSlots = scoring.directSlots
        let useBound = scoring.useBound
        let slotCount = state.slotIds.count
        var matcher = BlockMatcher(bSlots: state.slots, slotCount: slotCount)
        let thresholdIsZero = recallThreshold == 0.0
        // Locals (not fields of a struct) in the loop: no uniqueness check of a nested array per append.
        var found: [Candidate] = []
        found.reserveCapacity(candidateIds.count)
        var blockStore: [BlockMatcher.Block] = []
        blockStore.reserveCapacity(candidateIds.count * 2)
        var inTable = [Bool](repeating: false, count: slotCount)
        var tableCount = 0
        var knownSlots = 0
        for id in state.slotIds where id >= 0 { knownSlots += 1 }
        // Pass 1: the similarity of every candidate its length bound does not exclude, four texts at a
        // time where they are ASCII and the query fits one word.
        // The kept candidates' ids, text lengths and summaries, written into buffers sized for all of
        // the range (not appended to arrays: each append checked capacity and uniqueness, ≈30
        // instructions per candidate). The summaries (``PatternSummary``: the fields the scoring reads,
        // 32 bytes, with the packed buffer's address) are copied out of the knowledge base's table in
        // id order, so no pass loads a ``PatternShape`` object (fourteenth pass: those first loads were
        // ≈20 % of this function's cycles). The packed buffers they point to stay valid while `kb`
        // holds the shapes — for the whole query.
        let capacity = candidateIds.count
        let idsBase = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        let lengthsBase = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        let summariesBase = UnsafeMutablePointer<PatternSummary>.allocate(capacity: capacity)
        defer {
            idsBase.deallocate()
            lengthsBase.deallocate()
            summariesBase.deallocate()
        }
        var keptCount = 0
        var longest = 0
        kb.summaries.forEachRun(of: candidateIds) { id, summary in
            let textLength = Int(summary.textLength)
            if useBound && Self.lengthBoundExcludes(
                queryLength: queryLength, textLength: textLength, threshold: recallThreshold) { return }
            // The similarity pass visits candidates in length order, one group of four at a time; the
            // buffers are requested now, all of them independent loads (a hint: results unchanged).
            Self.prefetch(summary.packed, lines: 4)
            (idsBase + keptCount).initialize(to: id)
            (summariesBase + keptCount).initialize(to: summary)
            (lengthsBase + keptCount).initialize(to: summary.textLength)
            keptCount += 1
            longest = max(longest, textLength)
        }
        let ids = UnsafeBufferPointer(start: idsBase, count: keptCount)
        let summaries = UnsafeBufferPointer(start: summariesBase, count: keptCount)
        let lengths = UnsafeBufferPointer(start: lengthsBase, count: keptCount)
        // The kept candidates' frequencies, read now in one loop of independent loads (in id order,
        // one chunk lookup per run): pass 2 then reads a flat buffer instead of chasing each record.
        let frequencies = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, keptCount))
        defer { frequencies.deallocate() }
        kb.records.forEachRunInPlace(of: ids) { x, chunk in
            frequencies[x] = Int32(clamping: chunk[Int(ids[x]) & ChunkedArray<PatternRecord>.mask].frequency)
        }
        /// The packed view of candidate `p` when its text is ASCII (valid while `kb` holds the shape).
        @inline(__always) func asciiView(_ p: Int) -> PatternShape.PackedView? {
            summaries[p].isASCII ? summaries[p].packedView : nil
        }
        /// The similarity of candidate `p` on its own (the shape is read only for a non-ASCII text).
        @inline(__always) func similarity(_ p: Int) -> Double {
            indel.similarity(summaries[p], shape: { kb.shapes[Int(ids[p])] })
        }
        // Per-range scratch as plain allocations, not arrays (≈650 instructions each through generic
        // metadata, allocation and release; twelfth pass).
        let sims = UnsafeMutableBufferPointer<Double>.allocate(capacity: ids.count)
        sims.initialize(repeating: 0)
        defer { sims.deallocate() }
        var i = 0
        if indel.isSingleWord {
            // Four texts at a time run in lockstep for the shortest one's length, then each alone: so
            // the four are taken in order of text length (a counting sort of positions into `ids`),
            // which leaves tails of a few characters. Each similarity still lands at its own position.
            let order = Self.positionsByLength(lengths, longest: longest)
            if indel.hasEightLanes {
                // Eight texts at a time in the AVX-512 kernel, the rest four at a time below.
                // The eight texts and results: temporary allocations (stack), not arrays (≈700
                // instructions each through generic metadata).
                try withUnsafeTemporaryAllocation(of: UnsafeBufferPointer<UInt8>.self, capacity: 8) { group in
                try withUnsafeTemporaryAllocation(of: Double.self, capacity: 8) { out in
                group.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0))
                out.initialize(repeating: 0)
                while i + 8 <= order.count {
                    if i & 255 == 0 && i > 0 && !shouldContinue() { throw EngineCancelledError() }
                    var allASCII = true
                    for k in 0..<8 {
                        if let v = asciiView(Int(order[i + k])) { group[k] = v.text } else { allASCII = false }
                    }
                    if allASCII {
                        indel.similarities8(UnsafePointer(group.baseAddress!), into: out.baseAddress!)
                        for k in 0..<8 { sims[Int(order[i + k])] = out[k] }
                    } else {
                        for k in 0..<8 {
                            let p = Int(order[i + k])
                            sims[p] = similarity(p)
                        }
                    }
                    i += 8
                }
                }
                }
            }
            while i + 4 <= order.count {
                if i & 255 == 0 && i > 0 && !shouldContinue() { throw EngineCancelledError() }
                let pa = Int(order[i]), pb = Int(order[i + 1]), pc = Int(order[i + 2]), pd = Int(order[i + 3])
                guard let va = asciiView(pa), let vb = asciiView(pb), let vc = asciiView(pc), let vd = asciiView(pd)
                else {
                    for p in [pa, pb, pc, pd] { sims[p] = similarity(p) }
                    i += 4
                    continue
                }
                (sims[pa], sims[pb], sims[pc], sims[pd]) = indel.similarities(va.text, vb.text, vc.text, vd.text)
                i += 4
            }
            while i < order.count {
                let p = Int(order[i])
                sims[p] = similarity(p)
                i += 1
            }
        } else {
            while i < ids.count {
                sims[i] = similarity(i)
                i += 1
            }
        }
        if !shouldContinue() { throw EngineCancelledError() }

        // Pass 2: matching blocks and event boundaries of the candidates that reach the threshold.
        let matchedStamp = UnsafeMutableBufferPointer<Int>.allocate(capacity: slotCount)
        matchedStamp.initialize(repeating: -1)
        defer { matchedStamp.deallocate() }
        // The pattern as state slots: a buffer for the whole range (not an array: each candidate's
        // `withUnsafe…BufferPointer` on an array cost a uniqueness check and a closure call).
        var aSlotsCapacity = 64
        var aSlots = UnsafeMutablePointer<Int32>.allocate(capacity: aSlotsCapacity)
        aSlots.initialize(repeating: -1, count: aSlotsCapacity)
        defer { aSlots.deallocate() }
        var counter = 0
        for (n, id) in ids.enumerated() {
            counter += 1
            if counter & 255 == 0 && !shouldContinue() { throw EngineCancelledError() }
            // The ids (first and last line) of the candidate 4 ahead, whose address its summary gives
            // without a load of its own (a hint only; fourteenth pass: perf put a quarter of this
            // function's samples on the first load of each candidate's ids).
            if n &+ 4 < ids.count {
                let ahead = summaries[n &+ 4]
                let idsAhead = ahead.packedView.ids
                kato_prefetch(idsAhead)
                kato_prefetch(idsAhead + 4 &* (Int(ahead.length) &- 1))
            }
            let similarity = sims[n]
            if !(similarity >= recallThreshold) { continue }
            let summary = summaries[n]
            let length = Int(summary.length), eventCount = Int(summary.eventCount), nameKey = summary.nameKey
            let view = summary.packedView
            if aSlotsCapacity < length {
                aSlots.deallocate()
                aSlotsCapacity = max(length, 2 * aSlotsCapacity)
                aSlots = UnsafeMutablePointer<Int32>.allocate(capacity: aSlotsCapacity)
                aSlots.initialize(repeating: -1, count: aSlotsCapacity)
            }
            // Everything below reads the pattern's one packed buffer (ids, event ends, hashes), in
            // the loop itself (a closure returning an optional candidate cost a call and a copy).
            do {
                let v = view
                // The pattern as state slots (−1: not in the state), written in place into a reused
                // buffer. The same pass counts the positions found in the state and notes the first,
                // which the block matcher's fast paths need (no scan of its own).
                var firstMatch = -1
                var matchCount = 0
                do {
                    let buf = UnsafeMutableBufferPointer(start: aSlots, count: length)
                    if let directSlots {
                        // Backwards, so the last hit is the first match; counted and noted without
                        // branches, in locals (the captured `firstMatch`/`matchCount` were memory
                        // operands in the loop: ≈14 instructions a position, now ≈9).
                        (firstMatch, matchCount) = directSlots.withUnsafeBufferPointer { table in
                            let out = buf.baseAddress!, slots = table.baseAddress!
                            var first = -1, count = 0
                            var x = length &- 1
                            while x >= 0 {
                                let slot = slots[Int(v.id(x))]
                                out[x] = slot
                                let hit = slot >= 0
                                count &+= hit ? 1 : 0
                                first = hit ? x : first
                                x &-= 1
                            }
                            return (first, count)
                        }
                    } else {
                        for x in (0..<length).reversed() {
                            let slot = state.slotMap.get(v.id(x))
                            buf[x] = slot
                            if slot >= 0 { firstMatch = x; matchCount += 1 }
                        }
                    }
                }
                let blockStart = blockStore.count
                let blockCount = matcher.matchingBlocks(
                    UnsafeBufferPointer(start: aSlots, count: length), firstMatch: firstMatch, matchCount: matchCount,
                    into: &blockStore)
                if blockCount == 0 && !thresholdIsZero { continue }

                let p: Int
                let r: Int
                if blockCount > 0 {
                    let first = blockStore[blockStart], last = blockStore[blockStart + blockCount - 1]
                    p = first.a
                    r = last.a + last.size - first.a
                } else {
                    p = 0
                    r = length
                }
                // Event boundaries (Prediction.__init__).
                var c2 = 0
                var ev = 0
                while c2 < p { c2 = v.end(ev); ev += 1 }
                var k1 = ev
                while c2 < p + r { c2 = v.end(ev); ev += 1 }
                let k2 = ev
                // Mark matched symbols (by value). Once every known state slot is in the table (unknown
                // ones never enter: no pattern holds them), marking can add nothing: skipped, exactly.
                let stampValue = found.count
                let tableFull = tableCount == knownSlots
                if !tableFull {
                    for bi in blockStart..<(blockStart + blockCount) {
                        let blk = blockStore[bi]
                        for j in blk.b..<(blk.b + blk.size) {
                            let slot = Int(state.slots[j])
                            matchedStamp[slot] = stampValue
                            if !inTable[slot] { inTable[slot] = true; tableCount += 1 }
                        }
                    }
                }
                // Q20 fix-up: move past[-1] into present if it contains matches[0] anywhere.
                if k1 > 0 && blockCount > 0 {
                    let firstMatch = state.ids[blockStore[blockStart].b]
                    if v.contains(firstMatch, in: v.start(k1 - 1)..<v.end(k1 - 1)) { k1 -= 1 }
                }
                // Missing symbols that are also state symbols enter the probability table.
                if !tableFull {
                    let presentStart = v.start(k1)
                    let presentEnd = k2 == 0 ? 0 : v.end(k2 - 1)
                    for idx in presentStart..<presentEnd {
                        let slot = aSlots[idx]
                        if slot >= 0 && matchedStamp[Int(slot)] != stampValue && !inTable[Int(slot)] {
                            inTable[Int(slot)] = true
                            tableCount += 1
                        }
                    }
                }
                var candidate = Candidate(
                    id: id, frequency: 0, blockStart: Int32(blockStart),
                    blockCount: Int32(blockCount), k1: Int32(k1), k2: Int32(k2), similarity: similarity)
                if k2 < eventCount {
                    candidate.hasFuture = true
                    candidate.futureHash = v.hash(k2)
                    candidate.futureJSONKey = v.hash(eventCount + 1 + k2)
                }
                candidate.frequency = frequencies[n]
                candidate.nameKey = nameKey
                found.append(candidate)
            }
        }
        return Scored(found: found, blockStore: blockStore, inTable: inTable, matcher: matcher, directSlots: directSlots)
    }
}
