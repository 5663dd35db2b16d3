import CKatoSIMD

/// A run of a learned pattern's events in protobuf wire form (issue 15, the wire pass): each event
/// framed as a `kato.v2.Event` field numbered 1 — tag `0x0A`, the body's length as a varint, the
/// body (`repeated string symbols = 1`: per symbol tag `0x0A`, length, UTF-8) — one after another,
/// byte for byte what a protobuf encoder writes for `FuturePotential.future`. `Prediction`'s
/// `past`/`present`/`future`/`sequence` are the same bytes with another one-byte tag at each
/// event's start (fields 6, 7, 8, 11: ``eventOffset(_:)``).
///
/// Built once per pattern with its shape (``PatternShape``'s one initialiser, which every path
/// that makes a pattern goes through: learn, restore, the bulk loader), so that an encoder writes
/// a prediction's pattern fields as one copy plus a tag per event instead of a tag, a length and a
/// copy per symbol. ``bytes`` is a slice of the pattern's own array: reading it retains the
/// array, copies nothing.
public struct EventWire: Sendable {
    /// The pattern whose ``PatternShape/wire`` holds the bytes (kept alive by this value).
    private let shape: PatternShape
    /// `shape.wire`, copied: the readers below use only public types, so that other modules inline
    /// them (a read of the internal class's field is a call from KatoWire: +32k instructions per
    /// 1,000-pattern response).
    private nonisolated(unsafe) let wire: UnsafeRawPointer
    /// Where the starts table of the run's first event is (byte offset in the shape's `wire`).
    private let startsAt: Int
    /// Where the framed part begins in `wire` (after the n + 1 starts).
    private let framedAt: Int
    /// Number of events in the run.
    public let eventCount: Int

    /// Events `range` of `shape`.
    @inline(__always)
    init(_ shape: PatternShape, events range: Range<Int>) {
        self.shape = shape
        self.wire = UnsafeRawPointer(shape.wire)
        self.startsAt = 4 * range.lowerBound
        self.framedAt = 4 * (shape.eventCount + 1)
        self.eventCount = range.count
    }

    /// Start of the run's event `i` (i ≤ eventCount) in `wire`.
    @inline(__always)
    private func absoluteStart(_ i: Int) -> Int {
        framedAt &+ Int(UInt32(littleEndian: wire.loadUnaligned(fromByteOffset: startsAt &+ 4 &* i, as: UInt32.self)))
    }

    /// Bytes of the run (tags and lengths included).
    @inline(__always)
    public var byteCount: Int { absoluteStart(eventCount) &- absoluteStart(0) }

    /// The run's events framed as field 1, tags and lengths included (a copy: for tests and cold callers).
    public var bytes: ArraySlice<UInt8> { withUnsafeBytes { Array($0)[...] } }

    /// The run's bytes (as ``bytes``) viewed in place for the duration of `body` (no retain, no copy).
    @inline(__always)
    public func withBytes<R>(_ body: (Span<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBytes { raw in try body(raw.assumingMemoryBound(to: UInt8.self).span) }
    }

    /// The run's bytes (as ``bytes``) in place for the duration of `body` (no retain, no copy; this
    /// value keeps the pattern alive).
    @inline(__always)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) {
            let lo = absoluteStart(0)
            return try body(UnsafeRawBufferPointer(start: wire + lo, count: absoluteStart(eventCount) &- lo))
        }
    }

    /// Offset in ``bytes`` of event `i`'s tag byte (i ≤ eventCount: `eventOffset(eventCount)` is ``byteCount``).
    @inline(__always)
    public func eventOffset(_ i: Int) -> Int { absoluteStart(i) &- absoluteStart(0) }
}

extension PatternShape {
    /// The wire form of ``EventWire``: `[UInt32 little-endian × (n + 1) | framed events]`, entry k the
    /// start of event k in the framed part (entry n its length). Sized first
    /// (``eventWireSize(symbols:eventEnds:)``), then written in place into the shape's `packed`
    /// buffer (on every learn and for every pattern loaded: no per-byte `append`).
    static func eventWireSize(symbols: [String], eventEnds ends: [Int]) -> Int {
        var framed = 0
        var lo = 0
        for end in ends {
            let body = wireBodySize(symbols, lo, end)
            framed += 1 + wireVarintSize(body) + body
            lo = end
        }
        return 4 * (ends.count + 1) + framed
    }

    @inline(__always)
    static func wireVarintSize(_ v: Int) -> Int {
        var v = UInt(v), n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    @inline(__always)
    private static func wireBodySize(_ symbols: [String], _ lo: Int, _ hi: Int) -> Int {
        var body = 0
        for i in lo..<hi {
            let c = symbols[i].utf8.count
            body &+= 1 &+ wireVarintSize(c) &+ c  // an empty symbol is still an element
        }
        return body
    }

    /// Writes the wire form into `buf` (exactly ``eventWireSize(symbols:eventEnds:)`` bytes).
    static func writeEventWire(_ buf: UnsafeMutableRawBufferPointer, symbols: [String], eventEnds ends: [Int]) {
        @inline(__always) func varint(_ v: Int, _ at: inout Int) {
            var v = UInt(v)
            while v >= 0x80 {
                buf[at] = UInt8(truncatingIfNeeded: v) | 0x80
                at &+= 1
                v >>= 7
            }
            buf[at] = UInt8(v)
            at &+= 1
        }
        let n = ends.count
        let table = 4 * (n + 1)
        var at = table
        var lo = 0
        for (k, end) in ends.enumerated() {
            buf.storeBytes(of: UInt32(at - table).littleEndian, toByteOffset: 4 * k, as: UInt32.self)
            buf[at] = 0x0A
            at &+= 1
            varint(wireBodySize(symbols, lo, end), &at)
            for i in lo..<end {
                var symbol = symbols[i]
                buf[at] = 0x0A
                at &+= 1
                symbol.withUTF8 { utf8 in
                    varint(utf8.count, &at)
                    if let base = utf8.baseAddress, utf8.count > 0 {
                        (buf.baseAddress! + at).copyMemory(from: base, byteCount: utf8.count)
                    }
                    at &+= utf8.count
                }
            }
            lo = end
        }
        buf.storeBytes(of: UInt32(at - table).littleEndian, toByteOffset: 4 * n, as: UInt32.self)
        precondition(at == buf.count, "the wire form's size and its bytes disagree")
    }

    /// The name as `kato.v2.Prediction` field 2 (tag `0x12`, length, UTF-8; nothing for an empty
    /// name, as protobuf leaves it out), after the framed events in ``wire`` (issue 15, fourth wire
    /// pass): an encoder copies it from the lines it reads for the events instead of reading the
    /// name's `String` (a retain, a release and a cold line per prediction).
    static func nameWireSize(_ name: String) -> Int {
        let n = name.utf8.count
        return n == 0 ? 0 : 1 + wireVarintSize(n) + n
    }

    /// Writes ``nameWireSize(_:)`` bytes of `name`'s field into `buf`.
    static func writeNameWire(_ buf: UnsafeMutableRawBufferPointer, _ name: String) {
        guard buf.count > 0 else { return }
        var at = 0
        buf[at] = 0x12
        at += 1
        var v = UInt(name.utf8.count)
        while v >= 0x80 {
            buf[at] = UInt8(truncatingIfNeeded: v) | 0x80
            at += 1
            v >>= 7
        }
        buf[at] = UInt8(v)
        at += 1
        for b in name.utf8 {
            buf[at] = b
            at += 1
        }
        precondition(at == buf.count, "the name field's size and its bytes disagree")
    }

    /// ``nameWireSize(_:)``'s bytes in place (valid while this shape is alive): from the end of the
    /// framed events to the end of `packed`.
    @inline(__always)
    var nameWire: UnsafeRawBufferPointer {
        let wire = UnsafeRawPointer(self.wire)
        let at = 4 &* (eventCount &+ 1) &+ Int(UInt32(littleEndian: wire.loadUnaligned(fromByteOffset: 4 &* eventCount, as: UInt32.self)))
        return UnsafeRawBufferPointer(start: wire + at, count: wireCount &- at)
    }

    /// Events `range` of this pattern in wire form.
    @inline(__always)
    func eventWire(_ range: Range<Int>) -> EventWire { EventWire(self, events: range) }

    /// ``wire`` and its size (to prefetch).
    @inline(__always)
    var wireLines: (UnsafeRawPointer, Int) { (UnsafeRawPointer(wire), wireCount) }

    /// Asks the CPU to fetch the lines of `count` bytes at `address` (up to 256 bytes: the
    /// workload's patterns are ≈150): a hint, nothing is read.
    @inline(__always)
    static func prefetch(_ address: UnsafeRawPointer, _ count: Int) {
        var offset = 0
        while offset < count && offset < 256 {
            kato_prefetch(address + offset)
            offset &+= 64
        }
    }

    /// The framed bytes of events `a..<b` in ``wire``, valid while this shape is alive.
    @inline(__always)
    func wireRun(_ a: Int, _ b: Int) -> UnsafeRawBufferPointer {
        let framed = wire + 4 &* (eventCount &+ 1)
        let lo = Int(UInt32(littleEndian: wire.loadUnaligned(fromByteOffset: 4 &* a, as: UInt32.self)))
        let hi = Int(UInt32(littleEndian: wire.loadUnaligned(fromByteOffset: 4 &* b, as: UInt32.self)))
        return UnsafeRawBufferPointer(start: framed + lo, count: hi &- lo)
    }
}

extension Prediction {
    /// `field`'s events as protobuf bytes (``EventWire``) when they are a computed prediction's run
    /// of its pattern (`past`, `present`, `future`, `sequence`); `nil` for `missing` and `extras`
    /// (selections: read them with ``forEachEvent(in:_:)``) and for fields set explicitly.
    @inline(__always)
    public func eventWire(_ field: EventsField) -> EventWire? {
        guard let alignment, !hasExplicitEvents(field) else { return nil }
        let shape = alignment.shape
        switch field {
        case .past: return shape.eventWire(0..<Int(alignment.k1))
        case .present: return shape.eventWire(Int(alignment.k1)..<Int(alignment.k2))
        case .future: return shape.eventWire(Int(alignment.k2)..<shape.eventCount)
        case .sequence: return shape.eventWire(0..<shape.eventCount)
        case .missing, .extras: return nil
        }
    }
}

/// A computed prediction's runs of its pattern in wire form, read with one access to its alignment
/// (``Prediction/eventWires``): `nil` for a field set explicitly (and always for the selections).
public struct PredictionEventWires: Sendable {
    public let past: EventWire?
    public let present: EventWire?
    public let future: EventWire?
    public let sequence: EventWire?

    @inline(__always)
    public subscript(field: Prediction.EventsField) -> EventWire? {
        switch field {
        case .past: return past
        case .present: return present
        case .future: return future
        case .sequence: return sequence
        case .missing, .extras: return nil
        }
    }
}

extension Prediction {
    /// ``eventWire(_:)`` of the four pattern fields at once (`nil`: not a computed prediction).
    @inline(__always)
    public var eventWires: PredictionEventWires? {
        guard let alignment else { return nil }
        let shape = alignment.shape, k1 = Int(alignment.k1), k2 = Int(alignment.k2), n = shape.eventCount
        func run(_ field: EventsField, _ range: Range<Int>) -> EventWire? {
            hasExplicitEvents(field) ? nil : EventWire(shape, events: range)
        }
        return PredictionEventWires(
            past: run(.past, 0..<k1), present: run(.present, k1..<k2), future: run(.future, k2..<n),
            sequence: run(.sequence, 0..<n))
    }
}

extension FuturePotential {
    /// `future` as protobuf bytes (``EventWire``, exactly the field's bytes) when it is the engine's
    /// point into a pattern; `nil` for an explicit future.
    @inline(__always)
    public var futureWire: EventWire? {
        guard let (shape, start) = patternFuture else { return nil }
        return shape.eventWire(start..<shape.eventCount)
    }

    /// ``futureWire``'s bytes in place, for encoders (issue 15, third wire pass): no ``EventWire``
    /// built, nothing retained. The bytes are the pattern's, immutable, and live as long as the
    /// pattern: valid while this value — or the array holding it — is alive (an encoder reading a
    /// session's list holds the list). `nil` for an explicit future.
    @inline(__always)
    public var futureWireBytes: UnsafeRawBufferPointer? {
        guard let (shape, start) = patternFuture else { return nil }
        return shape.wireRun(start, shape.eventCount)
    }

}

extension Array where Element == Prediction {
    /// Asks the CPU to fetch the cache lines of `self[i]`'s pattern bytes (a computed prediction's:
    /// a hint, nothing is read or retained): an encoder asks a prediction or two ahead.
    public func prefetchWire(at i: Int) {
        // The address read first, the prefetch after: a C call between reading an element and
        // its end would keep the element's copy alive across the call (a retain and release of its batch).
        let wire = withUnsafeBufferPointer { list in list[i].alignment?.wireLines }
        if let (address, count) = wire { PatternShape.prefetch(address, count) }
    }
}

/// Where a computed prediction's selections are in its list's bit buffer (``PredictionWireView``):
/// word offsets of its three bit sets — matched STM positions and extras STM positions (over the
/// flattened STM, `stmWords` words each) and missing present symbols (bit 0 = the present events'
/// first symbol).
public struct PredictionSelectionBits: Sendable {
    /// The same for every prediction of one list (one query): they share the STM and the bit buffer.
    public let stm: ObjectIdentifier
    public let matchesAt: Int
    public let extrasAt: Int
    public let missingAt: Int
    /// Number of present symbols (bits in the missing set).
    public let presentSymbols: Int
}

/// What a computed prediction's head needs besides its numbers (``PredictionWireView``, issue 15,
/// fourth wire pass): its name as field 2, in place in the pattern's bytes, and whether
/// `emotives` can be non-empty (its pattern has an emotive window) — when not, an encoder skips the
/// field without building the dictionary.
public struct PredictionHeadWire {
    /// `name` as `kato.v2.Prediction` field 2 (tag, length, UTF-8; empty for an empty name): the
    /// pattern's bytes, valid while the list the view was read from lives.
    public let name: UnsafeRawBufferPointer
    /// Whether the pattern had an emotive window when the prediction was computed (`emotives`
    /// may then be non-empty: read it).
    public let hasEmotives: Bool
}

extension Prediction {
    /// The flattened STM a computed prediction was aligned with and the number of STM symbols in
    /// events `0...e` (`eventEnds[e]`); what ``PredictionSelectionBits``' STM positions index.
    /// `nil` when the prediction is not computed.
    public func withSTM<R>(_ body: (_ symbols: Span<String>, _ eventEnds: Span<Int32>) throws -> R) rethrows -> R? {
        guard let batch = alignment?.batch else { return nil }
        let flat = batch.flat, ends = batch.stmEnds
        return try body(flat.span, ends.span)
    }
}

/// A computed prediction as an encoder writes it without reading its `String`s, in plain values (issue
/// 15, fourth wire pass; the second wire pass's `withCompactWire` closure before): the whole pattern in
/// wire form, its present events, its selections as bits, its name's field and `frequency`, read out
/// of the list in place (``Swift/Array/wireView(at:)``). Nothing in it holds a reference: the pointers are into the
/// prediction's pattern and its list's bit buffer, valid while the list they were read from is alive
/// and unchanged. (Passing a `Prediction` on to code that writes through pointers makes the
/// compiler copy it first — an outlined copy and destroy, a retain and a release per prediction.)
public struct PredictionWireView {
    /// The pattern's events framed as field 1 (``EventWire``'s form), and the start of each event in
    /// them (`UInt32` little-endian × (eventCount + 1); the last is their length).
    public let events: UnsafeRawPointer
    public let starts: UnsafeRawPointer
    public let eventCount: Int
    /// The present events.
    public let present: Range<Int>
    /// The selections (``PredictionSelectionBits``) in the list's bit buffer `words`.
    public let bits: PredictionSelectionBits
    public let words: UnsafePointer<UInt64>
    /// The name's field 2 and whether `emotives` may be non-empty (``PredictionHeadWire``).
    public let head: PredictionHeadWire
    public let frequency: Int

    /// Offset of event `i`'s tag byte in ``events`` (i ≤ eventCount).
    @inline(__always)
    public func eventOffset(_ i: Int) -> Int {
        Int(UInt32(littleEndian: starts.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
    }

    /// All the events' bytes (``events`` and their length).
    @inline(__always)
    public var eventBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: events, count: eventOffset(eventCount)) }
}

extension Array where Element == Prediction {
    /// `self[i]` as ``PredictionWireView`` (valid while this array is alive and unchanged); `nil`
    /// when it is not computed or any field was set explicitly (read the prediction then).
    @inline(__always)
    public func wireView(at i: Int) -> PredictionWireView? {
        withUnsafeBufferPointer { list in
            guard !list[i].hasExplicitFields, let alignment = list[i].alignment else { return nil }
            return alignment.wireView(frequency: list[i].frequency)
        }
    }
}

extension Prediction.Alignment {
    /// ``Swift/Array/wireView(at:)`` of a computed prediction.
    @inline(__always)
    func wireView(frequency: Int) -> PredictionWireView? {
        let at = Int(bitsAt), stmWords = batch.stmWords, shape = self.shape
        let bits = PredictionSelectionBits(
            stm: ObjectIdentifier(batch), matchesAt: at, extrasAt: at + stmWords, missingAt: at + 2 * stmWords,
            presentSymbols: shape.packedView.start(Int(k2)) - shape.packedView.start(Int(k1)))
        let wire = UnsafeRawPointer(shape.wire), n = shape.eventCount
        // The batch's immutable array: its storage lives as long as the batch, which the list holds.
        guard let words = batch.words.withUnsafeBufferPointer({ $0.baseAddress }) else { return nil }
        return PredictionWireView(
            events: wire + 4 &* (n &+ 1), starts: wire, eventCount: n, present: Int(k1)..<Int(k2), bits: bits,
            words: words, head: PredictionHeadWire(name: shape.nameWire, hasEmotives: !(emotiveWindow?.isEmpty ?? true)),
            frequency: frequency)
    }
}

extension Prediction.Alignment {
    /// The pattern's wire bytes and their size (``Swift/Array/prefetchWire(at:)``).
    @inline(__always)
    var wireLines: (UnsafeRawPointer, Int) { shape.wireLines }
}
