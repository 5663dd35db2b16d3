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
    /// The pattern's ``PatternShape/wire``.
    private let storage: [UInt8]
    /// Where the starts table of the run's first event is (byte offset in `storage`).
    private let startsAt: Int
    /// Where the framed part begins in `storage` (after the n + 1 starts).
    private let framedAt: Int
    /// Number of events in the run.
    public let eventCount: Int

    /// Events `range` of a pattern of `patternEvents` events whose wire form is `storage`.
    @inline(__always)
    init(_ storage: [UInt8], patternEvents n: Int, events range: Range<Int>) {
        self.storage = storage
        self.startsAt = 4 * range.lowerBound
        self.framedAt = 4 * (n + 1)
        self.eventCount = range.count
    }

    /// Start of the run's event `i` (i ≤ eventCount) in `storage`.
    @inline(__always)
    private func absoluteStart(_ i: Int) -> Int {
        framedAt &+ storage.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: startsAt &+ 4 &* i, as: UInt32.self)))
        }
    }

    /// Bytes of the run (tags and lengths included).
    @inline(__always)
    public var byteCount: Int { absoluteStart(eventCount) &- absoluteStart(0) }

    /// The run's events framed as field 1, tags and lengths included.
    @inline(__always)
    public var bytes: ArraySlice<UInt8> { storage[absoluteStart(0)..<absoluteStart(eventCount)] }

    /// Offset in ``bytes`` of event `i`'s tag byte (i < eventCount).
    @inline(__always)
    public func eventOffset(_ i: Int) -> Int { absoluteStart(i) &- absoluteStart(0) }
}

extension PatternShape {
    /// The wire form of ``EventWire``: `[UInt32 little-endian × (n + 1) | framed events]`, entry k the
    /// start of event k in the framed part (entry n its length). Sized first, written once.
    static func eventWire(symbols: [String], eventEnds ends: [Int]) -> [UInt8] {
        @inline(__always) func varintSize(_ v: Int) -> Int {
            var v = UInt(v), n = 1
            while v >= 0x80 { v >>= 7; n += 1 }
            return n
        }
        let n = ends.count
        var framed = 0
        var lo = 0
        for end in ends {
            var body = 0
            for i in lo..<end {
                let c = symbols[i].utf8.count
                body += 1 + varintSize(c) + c  // an empty symbol is still an element
            }
            framed += 1 + varintSize(body) + body
            lo = end
        }
        var out: [UInt8] = []
        out.reserveCapacity(4 * (n + 1) + framed)
        func varint(_ v: Int) {
            var v = UInt(v)
            while v >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        out.append(contentsOf: repeatElement(0, count: 4 * (n + 1)))
        let table = 4 * (n + 1)
        lo = 0
        for (k, end) in ends.enumerated() {
            let at = UInt32(out.count - table)
            for b in 0..<4 { out[4 * k + b] = UInt8(truncatingIfNeeded: at >> UInt32(8 * b)) }
            var body = 0
            for i in lo..<end {
                let c = symbols[i].utf8.count
                body += 1 + varintSize(c) + c
            }
            out.append(0x0A)
            varint(body)
            for i in lo..<end {
                out.append(0x0A)
                varint(symbols[i].utf8.count)
                out.append(contentsOf: symbols[i].utf8)
            }
            lo = end
        }
        let total = UInt32(out.count - table)
        for b in 0..<4 { out[4 * n + b] = UInt8(truncatingIfNeeded: total >> UInt32(8 * b)) }
        return out
    }

    /// Events `range` of this pattern in wire form.
    @inline(__always)
    func eventWire(_ range: Range<Int>) -> EventWire { EventWire(wire, patternEvents: eventCount, events: range) }
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

extension FuturePotential {
    /// `future` as protobuf bytes (``EventWire``, exactly the field's bytes) when it is the engine's
    /// point into a pattern; `nil` for an explicit future.
    @inline(__always)
    public var futureWire: EventWire? {
        guard let (shape, start) = patternFuture else { return nil }
        return shape.eventWire(start..<shape.eventCount)
    }
}
