/// What one query's predictions share: the flattened STM, its event ends, the alignment bits of
/// every prediction of the list (one allocation for the whole list instead of ≈10 arrays per
/// prediction), and each prediction's pattern and emotive window. Immutable once built.
///
/// The batch is the one owner of the list's patterns (twelfth pass): a prediction holds the batch
/// and its index in it, not a reference to its pattern and one to its window, so building (and
/// copying, and releasing) a prediction costs one reference count, not three. Safe by
/// construction: every reference is strong, and a prediction that outlives its list keeps the
/// batch, hence its pattern, alive.
final class PredictionBatch: Sendable {
    /// The flattened STM the predictions were computed for.
    let flat: [String]
    /// `stmEnds[e]` = number of STM symbols in events 0...e.
    let stmEnds: [Int32]
    /// Every prediction's bits: [matched STM positions | extras STM positions | missing present positions].
    let words: [UInt64]
    /// Prediction `i`'s pattern and its emotive window (`kb.records[id].emotives` at query time).
    let shapes: [PatternShape]
    let emotiveWindows: [[[String: Double]]?]

    init(flat: [String], stmEnds: [Int32], words: [UInt64], shapes: [PatternShape], emotiveWindows: [[[String: Double]]?]) {
        self.flat = flat
        self.stmEnds = stmEnds
        self.words = words
        self.shapes = shapes
        self.emotiveWindows = emotiveWindows
    }

    /// Words per STM bit set.
    var stmWords: Int { (flat.count + 63) >> 6 }

    @inline(__always) func bit(_ at: Int, _ i: Int) -> Bool { words[at + (i >> 6)] & (1 << UInt64(i & 63)) != 0 }

    /// Bits `i..<i+n` (n ≤ 64) of the bit set at word `at`, as the low bits of one word. Reads the
    /// next word only when the range crosses into it (so never past the set's last word).
    @inline(__always) func bits(_ at: Int, from i: Int, count n: Int) -> UInt64 {
        if n == 0 { return 0 }
        let w = at + (i >> 6), shift = i & 63
        var v = words[w] >> UInt64(shift)
        if shift != 0 && shift + n > 64 { v |= words[w + 1] << UInt64(64 - shift) }
        return v & Self.lowBits(n)
    }

    /// The `n` low bits set (n ≤ 64).
    @inline(__always) static func lowBits(_ n: Int) -> UInt64 { n >= 64 ? ~0 : (1 << UInt64(n)) &- 1 }
}

extension Prediction {
    /// A computed prediction's alignment: its place in the batch (which holds its pattern and
    /// emotive window), its present events `k1..<k2`, and where its bits start in the batch.
    struct Alignment: Sendable {
        let batch: PredictionBatch
        /// This prediction's index in the batch's `shapes` and `emotiveWindows`.
        let index: Int32
        let k1: Int32
        let k2: Int32
        /// Word offset of this prediction's bits in `batch.words`.
        let bitsAt: Int32
        let matchCount: Int32

        /// The pattern (owned by the batch).
        @inline(__always) var shape: PatternShape { batch.shapes[Int(index)] }
        /// The pattern's emotive window when the prediction was computed.
        var emotiveWindow: [[String: Double]]? { batch.emotiveWindows[Int(index)] }

        @inline(__always) var presentStart: Int { shape.eventStart(Int(k1)) }

        func eventCount(_ field: EventsField) -> Int {
            switch field {
            case .past: return Int(k1)
            case .present, .missing: return Int(k2 - k1)
            case .future: return shape.eventCount - Int(k2)
            case .extras: return batch.stmEnds.count
            case .sequence: return shape.eventCount
            }
        }

        /// Symbols of event `k` of `field` (for sizing arrays).
        func symbolCount(_ field: EventsField, event k: Int) -> Int {
            switch field {
            case .missing, .extras:
                var n = 0
                forEachSymbol(field, event: k) { _ in n += 1 }
                return n
            default:
                let e = patternEvent(field, k)
                return shape.eventEnds[e] - shape.eventStart(e)
            }
        }

        /// The pattern's event index of event `k` of a pattern field.
        @inline(__always) private func patternEvent(_ field: EventsField, _ k: Int) -> Int {
            switch field {
            case .past, .sequence: return k
            case .present, .missing: return Int(k1) + k
            case .future: return Int(k2) + k
            case .extras: preconditionFailure("extras are STM events")
            }
        }

        @inline(__always)
        func forEachSymbol(_ field: EventsField, event k: Int, _ body: (String) throws -> Void) rethrows {
            switch field {
            case .extras:
                let lo = k == 0 ? 0 : Int(batch.stmEnds[k - 1]), hi = Int(batch.stmEnds[k])
                let at = Int(bitsAt) + batch.stmWords
                for j in lo..<hi where batch.bit(at, j) { try body(batch.flat[j]) }
            case .missing:
                let e = Int(k1) + k
                let base = presentStart, lo = shape.eventStart(e), hi = shape.eventEnds[e]
                let at = Int(bitsAt) + 2 * batch.stmWords
                let symbols = shape.symbols
                for x in lo..<hi where batch.bit(at, x - base) { try body(symbols[x]) }
            default:
                for s in shape.event(patternEvent(field, k)) { try body(s) }
            }
        }

        /// Every symbol of `field`, with its event index, in order (per symbol: ``forEachEvent(_:_:)`` is cheaper).
        func forEachSymbol(_ field: EventsField, _ body: (Int, String) throws -> Void) rethrows {
            try forEachEvent(field) { k, symbols, selected in
                var m = selected
                while m != 0 {
                    try body(k, symbols[m.trailingZeroBitCount])
                    m &= m &- 1
                }
            }
        }

        /// `field` one event at a time, in pieces of at most 64 symbols viewed in place (the pattern's
        /// symbols, or the STM's for `extras`), with the bits of the piece's symbols that belong to the
        /// field (`Prediction.forEachEvent(in:_:)` says more). Every event gets at least one call.
        func forEachEvent(_ field: EventsField, _ body: (Int, Span<String>, UInt64) throws -> Void) rethrows {
            switch field {
            case .extras:
                let flatArray = batch.flat
                let flat = flatArray.span
                let at = Int(bitsAt) + batch.stmWords
                var lo = 0
                for (k, end) in batch.stmEnds.enumerated() {
                    let hi = Int(end)
                    repeat {
                        let n = min(64, hi - lo)
                        try body(k, flat.extracting(lo..<(lo + n)), batch.bits(at, from: lo, count: n))
                        lo += n
                    } while lo < hi
                }
            case .missing:
                // Event ends from the packed buffer (no array retained); the symbols borrowed in place.
                let ends = shape.packedView
                let base = ends.start(Int(k1))
                let at = Int(bitsAt) + 2 * batch.stmWords
                try shape.withSymbols { symbols in
                    var lo = base
                    for e in Int(k1)..<Int(k2) {
                        let hi = ends.end(e)
                        repeat {
                            let n = min(64, hi - lo)
                            try body(e - Int(k1), symbols.extracting(lo..<(lo + n)), batch.bits(at, from: lo - base, count: n))
                            lo += n
                        } while lo < hi
                    }
                }
            default:
                let first: Int, count = eventCount(field)
                switch field {
                case .present: first = Int(k1)
                case .future: first = Int(k2)
                default: first = 0
                }
                let ends = shape.packedView
                try shape.withSymbols { symbols in
                    var lo = ends.start(first)
                    for k in 0..<count {
                        let hi = ends.end(first + k)
                        repeat {
                            let n = min(64, hi - lo)
                            try body(k, symbols.extracting(lo..<(lo + n)), PredictionBatch.lowBits(n))
                            lo += n
                        } while lo < hi
                    }
                }
            }
        }

        /// `matches` in place: the flattened STM in pieces of at most 64 symbols, with the matched bits.
        func forEachMatchPiece(_ body: (Span<String>, UInt64) throws -> Void) rethrows {
            let flatArray = batch.flat
            let flat = flatArray.span
            let at = Int(bitsAt)
            var lo = 0
            while lo < flat.count {
                let n = min(64, flat.count - lo)
                try body(flat.extracting(lo..<(lo + n)), batch.bits(at, from: lo, count: n))
                lo += n
            }
        }

        func forEachMatch(_ body: (String) throws -> Void) rethrows {
            try forEachMatchPiece { symbols, selected in
                var m = selected
                while m != 0 {
                    try body(symbols[m.trailingZeroBitCount])
                    m &= m &- 1
                }
            }
        }
    }
}
