import KatoEngine

/// A computed prediction's fields 5-11 written from bytes (issue 15, second wire pass): its pattern
/// runs (`past`, `present`, `future`, `sequence`) copied from the pattern's wire form; `missing`
/// copied symbol by symbol out of the same bytes (the present events' framed symbols, picked by the
/// alignment's missing bits); `matches` and `extras` out of the STM framed once per list
/// (``PredictionWire/STMWire``), picked by the matched and extras bits. No `String` is read per
/// symbol: each selected symbol is one copy of bytes already framed, its tag byte set.
extension PredictionWire {
    /// The flattened STM of one list's predictions, each symbol framed as string field 1 (tag
    /// `0x0A`, length, UTF-8), with where each symbol starts and where each event ends.
    struct STMWire {
        var id: ObjectIdentifier?
        var bytes: [UInt8] = []
        /// Start of symbol j in `bytes` (j ≤ count: the last entry is the end).
        var starts: [Int] = []
        /// STM symbols in events `0...e`.
        var eventEnds: [Int] = []

        mutating func load(_ id: ObjectIdentifier, _ symbols: Span<String>, _ ends: Span<Int32>) {
            bytes.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            eventEnds.removeAll(keepingCapacity: true)
            for i in symbols.indices {
                starts.append(bytes.count)
                bytes.append(0x0A)
                var n = UInt(symbols[i].utf8.count)
                while n >= 0x80 {
                    bytes.append(UInt8(truncatingIfNeeded: n) | 0x80)
                    n >>= 7
                }
                bytes.append(UInt8(n))
                bytes.append(contentsOf: symbols[i].utf8)
            }
            starts.append(bytes.count)
            for e in ends.indices { eventEnds.append(Int(ends[e])) }
            self.id = id
        }
    }
}

extension PredictionWire.Writer {
    /// Fields 5-11 of a computed prediction (``Prediction/withCompactWire(_:)``'s values; `stm`
    /// loaded for its list).
    mutating func compactFields(_ sequence: EventWire, _ present: Range<Int>, _ bits: PredictionSelectionBits,
                                _ words: Span<UInt64>) {
        let table = stm.bytes, starts = stm.starts, eventEnds = stm.eventEnds
        table.withUnsafeBytes { table in
            starts.withUnsafeBufferPointer { starts in
                let stmSymbols = starts.count - 1
                // 5 matches: the matched STM symbols.
                var w = 0
                while w << 6 < stmSymbols {
                    var m = words[bits.matchesAt + w]
                    while m != 0 {
                        stmSymbol(w << 6 | m.trailingZeroBitCount, tag: 5 << 3 | 2, table, starts)
                        m &= m &- 1
                    }
                    w += 1
                }
                sequence.withBytes { $0.withUnsafeBytes { seq in
                    // 6 past, 7 present, 8 future: runs of the pattern.
                    run(seq, sequence, 0, present.lowerBound, tag: 6 << 3 | 2)
                    run(seq, sequence, present.lowerBound, present.upperBound, tag: 7 << 3 | 2)
                    run(seq, sequence, present.upperBound, sequence.eventCount, tag: 8 << 3 | 2)
                    // 9 missing: per present event, its symbols with a missing bit.
                    missing(seq, sequence, present, bits, words)
                    // 10 extras: per STM event, its symbols with an extras bit.
                    var lo = 0
                    for e in eventEnds.indices {
                        let hi = eventEnds[e]
                        let event = begin(10, reserved: 1)
                        var j = lo
                        while j < hi {
                            let limit = Swift.min(hi, (j & ~63) &+ 64)
                            var m = words[bits.extrasAt + j >> 6] >> UInt64(j & 63)
                            if limit &- j < 64 { m &= (1 << UInt64(limit &- j)) &- 1 }
                            while m != 0 {
                                stmSymbol(j &+ m.trailingZeroBitCount, tag: 1 << 3 | 2, table, starts)
                                m &= m &- 1
                            }
                            j = limit
                        }
                        end(event, reserved: 1)
                        lo = hi
                    }
                    // 11 sequence: the whole pattern.
                    run(seq, sequence, 0, sequence.eventCount, tag: 11 << 3 | 2)
                } }
            }
        }
    }

    /// STM symbol `j`'s framed bytes with tag byte `tag`.
    @inline(__always)
    private mutating func stmSymbol(_ j: Int, tag: UInt8, _ table: UnsafeRawBufferPointer, _ starts: UnsafeBufferPointer<Int>) {
        let lo = starts[j], n = starts[j &+ 1] &- lo
        let to = reserve(n)
        Self.copyBytes(to, table.baseAddress! + lo, n)
        to.storeBytes(of: tag, as: UInt8.self)
        count &+= n
    }

    /// Events `a..<b` of the pattern (`seq` is `sequence`'s bytes), each event's tag byte set to `tag`.
    @inline(__always)
    private mutating func run(_ seq: UnsafeRawBufferPointer, _ sequence: EventWire, _ a: Int, _ b: Int, tag: UInt8) {
        guard a < b else { return }
        let lo = sequence.eventOffset(a), hi = sequence.eventOffset(b)
        let at = count
        copy(UnsafeRawBufferPointer(rebasing: seq[lo..<hi]))
        let to = base + (at &- lo)
        for i in a..<b { to.storeBytes(of: tag, toByteOffset: sequence.eventOffset(i), as: UInt8.self) }
    }

    /// Field 9: per present event, the framed symbols whose missing bit is set, copied out of the
    /// pattern's bytes (each symbol there is tag `0x0A`, length, UTF-8 — exactly a string field 1).
    private mutating func missing(_ seq: UnsafeRawBufferPointer, _ sequence: EventWire, _ present: Range<Int>,
                                  _ bits: PredictionSelectionBits, _ words: Span<UInt64>) {
        var any: UInt64 = 0
        var w = 0
        while w << 6 < bits.presentSymbols {
            any |= words[bits.missingAt + w]
            w += 1
        }
        if any == 0 {  // nothing missing: an empty event per present event
            for _ in present {
                let to = reserve(2)
                to.storeBytes(of: UInt16(9 << 3 | 2).littleEndian, as: UInt16.self)  // tag, length 0
                count &+= 2
            }
            return
        }
        var x = 0  // the present symbol's index (its bit)
        for e in present {
            let event = begin(9, reserved: 1)
            var pos = sequence.eventOffset(e) &+ 1  // past the event's tag
            let eventEnd = sequence.eventOffset(e &+ 1)
            while seq[pos] & 0x80 != 0 { pos &+= 1 }  // the body's length
            pos &+= 1
            while pos < eventEnd {
                let symbol = pos
                pos &+= 1  // the symbol's tag 0x0A
                var length = 0, shift = 0
                while true {
                    let b = seq[pos]
                    pos &+= 1
                    length |= Int(b & 0x7F) << shift
                    if b < 0x80 { break }
                    shift &+= 7
                }
                pos &+= length
                if words[bits.missingAt &+ x >> 6] >> UInt64(x & 63) & 1 != 0 {
                    copy(UnsafeRawBufferPointer(rebasing: seq[symbol..<pos]))
                }
                x &+= 1
            }
            end(event, reserved: 1)
        }
    }
}
