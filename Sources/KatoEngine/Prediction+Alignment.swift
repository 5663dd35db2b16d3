/// What one query's predictions share: the flattened STM, its event ends and the alignment bits of
/// every prediction of the list (one allocation for the whole list instead of ≈10 arrays per
/// prediction). Immutable once built.
final class PredictionBatch: Sendable {
    /// The flattened STM the predictions were computed for.
    let flat: [String]
    /// `stmEnds[e]` = number of STM symbols in events 0...e.
    let stmEnds: [Int32]
    /// Every prediction's bits: [matched STM positions | extras STM positions | missing present positions].
    let words: [UInt64]

    init(flat: [String], stmEnds: [Int32], words: [UInt64]) {
        self.flat = flat
        self.stmEnds = stmEnds
        self.words = words
    }

    /// Words per STM bit set.
    var stmWords: Int { (flat.count + 63) >> 6 }

    @inline(__always) func bit(_ at: Int, _ i: Int) -> Bool { words[at + (i >> 6)] & (1 << UInt64(i & 63)) != 0 }
}

extension Prediction {
    /// A computed prediction's alignment: the pattern, its present events `k1..<k2`, and where its
    /// bits start in the batch.
    struct Alignment: Sendable {
        let shape: PatternShape
        /// Set once the list is complete (the batch's words are written while predictions are built).
        var batch: PredictionBatch!
        let emotiveWindow: [[String: Double]]?
        let k1: Int32
        let k2: Int32
        /// Word offset of this prediction's bits in `batch.words`.
        let bitsAt: Int32
        let matchCount: Int32

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
                let batch = batch!
                let lo = k == 0 ? 0 : Int(batch.stmEnds[k - 1]), hi = Int(batch.stmEnds[k])
                let at = Int(bitsAt) + batch.stmWords
                for j in lo..<hi where batch.bit(at, j) { try body(batch.flat[j]) }
            case .missing:
                let batch = batch!
                let e = Int(k1) + k
                let base = presentStart, lo = shape.eventStart(e), hi = shape.eventEnds[e]
                let at = Int(bitsAt) + 2 * batch.stmWords
                let symbols = shape.symbols
                for x in lo..<hi where batch.bit(at, x - base) { try body(symbols[x]) }
            default:
                for s in shape.event(patternEvent(field, k)) { try body(s) }
            }
        }

        /// Every symbol of `field`, with its event index, in order (one call per field).
        func forEachSymbol(_ field: EventsField, _ body: (Int, String) throws -> Void) rethrows {
            switch field {
            case .extras:
                let batch = batch!
                let at = Int(bitsAt) + batch.stmWords
                var lo = 0
                for (k, end) in batch.stmEnds.enumerated() {
                    for j in lo..<Int(end) where batch.bit(at, j) { try body(k, batch.flat[j]) }
                    lo = Int(end)
                }
            case .missing:
                let batch = batch!
                let base = presentStart
                let at = Int(bitsAt) + 2 * batch.stmWords
                let symbols = shape.symbols
                let ends = shape.eventEnds
                var lo = base
                for e in Int(k1)..<Int(k2) {
                    for x in lo..<ends[e] where batch.bit(at, x - base) { try body(e - Int(k1), symbols[x]) }
                    lo = ends[e]
                }
            default:
                let first: Int, count = eventCount(field)
                switch field {
                case .present: first = Int(k1)
                case .future: first = Int(k2)
                default: first = 0
                }
                let symbols = shape.symbols
                let ends = shape.eventEnds
                var lo = shape.eventStart(first)
                for k in 0..<count {
                    let hi = ends[first + k]
                    for x in lo..<hi { try body(k, symbols[x]) }
                    lo = hi
                }
            }
        }

        @inline(__always)
        func forEachMatch(_ body: (String) throws -> Void) rethrows {
            let batch = batch!
            let at = Int(bitsAt)
            for j in 0..<batch.flat.count where batch.bit(at, j) { try body(batch.flat[j]) }
        }
    }
}
