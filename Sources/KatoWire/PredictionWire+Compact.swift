import KatoEngine

/// A computed prediction's fields 5-11 written from bytes (issue 15, second wire pass): its pattern
/// runs (`past`, `present`, `future`, `sequence`) copied from the pattern's wire form; `missing`
/// copied symbol by symbol out of the same bytes (the present events' framed symbols, picked by the
/// alignment's missing bits); `matches` and `extras` out of the STM framed once per list
/// (``PredictionWire/STMWire``), picked by the matched and extras bits. No `String` is read per
/// symbol: each selected symbol is one copy of bytes already framed, its tag byte set.
extension PredictionWire {
    /// The flattened STM of one list's predictions, each symbol framed as string field 1 (tag
    /// `0x0A`, length, UTF-8), with where each symbol starts and where each event ends: one
    /// allocation owned by the writer (freed with its buffer), so that reading it per prediction
    /// retains nothing.
    struct STMWire {
        var id: ObjectIdentifier?
        /// `[Int × (symbols + 1): symbol starts in the bytes, the last the end | Int × events: STM
        /// symbols in events 0...e | the framed symbols | pad to 8 | slots]`.
        private(set) var storage: UnsafeMutableRawPointer?
        private(set) var symbols = 0
        private(set) var events = 0
        /// When every framed symbol is at most 16 bytes (the usual case): each in a 16-byte slot,
        /// so that an encoder copies one as two fixed 8-byte loads and stores (fourth wire pass).
        private(set) var slots: UnsafeRawPointer?

        var starts: UnsafePointer<Int> { UnsafePointer(storage!.assumingMemoryBound(to: Int.self)) }
        var eventEnds: UnsafePointer<Int> { starts + (symbols + 1) }
        var bytes: UnsafeRawPointer { UnsafeRawPointer(storage!) + 8 * (symbols + 1 + events) }

        mutating func load(_ id: ObjectIdentifier, _ flat: Span<String>, _ ends: Span<Int32>) {
            free()
            var total = 0
            for i in flat.indices {
                let n = flat[i].utf8.count
                total += 1 + PredictionWire.varintSize(UInt64(n)) + n
            }
            (symbols, events) = (flat.count, ends.count)
            let at = 8 * (symbols + 1 + events)
            var slotted = true
            for i in flat.indices where flat[i].utf8.count > 14 { slotted = false }
            let slotsAt = (at + total + 7) & ~7
            let raw = UnsafeMutableRawPointer.allocate(byteCount: slotted ? slotsAt + 16 * symbols : at + total, alignment: 8)
            let starts = raw.bindMemory(to: Int.self, capacity: symbols + 1 + events)
            var to = at
            for i in flat.indices {
                starts[i] = to - at
                raw.storeBytes(of: 0x0A, toByteOffset: to, as: UInt8.self)
                to += 1
                var n = UInt(flat[i].utf8.count)
                while n >= 0x80 {
                    raw.storeBytes(of: UInt8(truncatingIfNeeded: n) | 0x80, toByteOffset: to, as: UInt8.self)
                    to += 1
                    n >>= 7
                }
                raw.storeBytes(of: UInt8(n), toByteOffset: to, as: UInt8.self)
                to += 1
                for b in flat[i].utf8 {
                    raw.storeBytes(of: b, toByteOffset: to, as: UInt8.self)
                    to += 1
                }
            }
            starts[symbols] = to - at
            for e in ends.indices { starts[symbols + 1 + e] = Int(ends[e]) }
            if slotted {
                let slots = raw + slotsAt
                slots.initializeMemory(as: UInt8.self, repeating: 0, count: 16 * symbols)
                for i in 0..<symbols {
                    (slots + 16 * i).copyMemory(from: raw + at + starts[i], byteCount: starts[i + 1] - starts[i])
                }
                self.slots = UnsafeRawPointer(slots)
            }
            (storage, self.id) = (raw, id)
        }

        mutating func free() {
            storage?.deallocate()
            (storage, id, slots) = (nil, nil, nil)
        }
    }
}

extension PredictionWire.Writer {
    /// Fields 5-11 of a computed prediction (``PredictionWireView``; `stm`
    /// loaded for its list).
    mutating func compactFields(_ v: PredictionWireView) {
        let present = v.present, bits = v.bits, words = v.words
        let table = stm.bytes, starts = stm.starts, eventEnds = stm.eventEnds, stmEvents = stm.events
        let stmSymbols = stm.symbols
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
        // (The list being written holds the pattern: the bytes stay valid.)
        let seq = v.eventBytes
        // 6 past, 7 present, 8 future: the whole pattern in one copy (they are its events in
        // order); their tag bytes are set with `sequence`'s, below.
        let patternAt = count
        copy(seq)
        // 9 missing: per present event, its symbols with a missing bit.
        missing(seq, v, present, bits, words)
        // 10 extras: per STM event, its symbols with an extras bit.
        var lo = 0
        for e in 0..<stmEvents {
            let hi = eventEnds[e], n = hi &- lo
            if n > 0 && n <= 64 {
                // The event's bits as one word: all set — the whole event is extras, one copy of
                // its framed symbols (they are consecutive in the table) — or picked one by one.
                let at = bits.extrasAt &+ lo >> 6, shift = lo & 63
                var m = words[at] >> UInt64(shift)
                if shift != 0 && shift &+ n > 64 { m |= words[at &+ 1] << UInt64(64 &- shift) }
                let all: UInt64 = n == 64 ? ~0 : (1 << UInt64(n)) &- 1
                m &= all
                if m == all {
                    let body = starts[hi] &- starts[lo]
                    head(10, length: body)
                    copy(UnsafeRawBufferPointer(start: table + starts[lo], count: body))
                } else {
                    let event = begin(10, reserved: 1)
                    while m != 0 {
                        stmSymbol(lo &+ m.trailingZeroBitCount, tag: 1 << 3 | 2, table, starts)
                        m &= m &- 1
                    }
                    end(event, reserved: 1)
                }
                lo = hi
                continue
            }
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
        // 11 sequence: the whole pattern again. Then every event's two tag bytes.
        let sequenceAt = count
        copy(seq)
        let fields = base + patternAt, again = base + sequenceAt
        let k1 = present.lowerBound, k2 = present.upperBound
        for i in 0..<v.eventCount {
            let at = v.eventOffset(i)
            fields.storeBytes(of: i < k1 ? 6 << 3 | 2 : i < k2 ? 7 << 3 | 2 : 8 << 3 | 2, toByteOffset: at, as: UInt8.self)
            again.storeBytes(of: 11 << 3 | 2, toByteOffset: at, as: UInt8.self)
        }
    }

    /// STM symbol `j`'s framed bytes with tag byte `tag`.
    @inline(__always)
    private mutating func stmSymbol(_ j: Int, tag: UInt8, _ table: UnsafeRawPointer, _ starts: UnsafePointer<Int>) {
        let lo = starts[j], n = starts[j &+ 1] &- lo
        if let slots = stm.slots {  // ≤ 16 bytes: the whole slot, then the count moves by n
            let to = reserve(16), from = slots + j &<< 4
            to.storeBytes(of: from.load(as: UInt64.self), as: UInt64.self)
            (to + 8).storeBytes(of: from.load(fromByteOffset: 8, as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: tag, as: UInt8.self)
            count &+= n
            return
        }
        let to = reserve(n)
        Self.copyBytes(to, table + lo, n)
        to.storeBytes(of: tag, as: UInt8.self)
        count &+= n
    }

    /// Field 9: per present event, the framed symbols whose missing bit is set, copied out of the
    /// pattern's bytes (each symbol there is tag `0x0A`, length, UTF-8 — exactly a string field 1).
    private mutating func missing(_ seq: UnsafeRawBufferPointer, _ sequence: PredictionWireView, _ present: Range<Int>,
                                  _ bits: PredictionSelectionBits, _ words: UnsafePointer<UInt64>) {
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
        let raw = seq.baseAddress!
        var x = 0  // the present symbol's index (its bit)
        for e in present {
            let event = begin(9, reserved: 1)
            var pos = sequence.eventOffset(e) &+ 1  // past the event's tag
            let eventEnd = sequence.eventOffset(e &+ 1)
            while raw.load(fromByteOffset: pos, as: UInt8.self) & 0x80 != 0 { pos &+= 1 }  // the body's length
            pos &+= 1
            while pos < eventEnd {
                let symbol = pos
                // The symbol's tag 0x0A, its length (one byte below 128), its UTF-8.
                let b = raw.load(fromByteOffset: pos &+ 1, as: UInt8.self)
                if _fastPath(b < 0x80) { pos &+= 2 &+ Int(b) } else { pos = Self.pastLongSymbol(raw, pos) }
                if words[bits.missingAt &+ x >> 6] >> UInt64(x & 63) & 1 != 0 {
                    let n = pos &- symbol
                    Self.copyBytes(reserve(n), raw + symbol, n)
                    count &+= n
                }
                x &+= 1
            }
            end(event, reserved: 1)
        }
    }

    /// Where the framed symbol at `pos` (tag, a length of two or more bytes, UTF-8) ends.
    @inline(never)
    private static func pastLongSymbol(_ raw: UnsafeRawPointer, _ pos: Int) -> Int {
        var at = pos &+ 1, length = 0, shift = 0
        while true {
            let b = raw.load(fromByteOffset: at, as: UInt8.self)
            at &+= 1
            length |= Int(b & 0x7F) << shift
            if b < 0x80 { return at &+ length }
            shift &+= 7
        }
    }
}
