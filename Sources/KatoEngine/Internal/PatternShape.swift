import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The immutable, search-ready form of a pattern: interned symbol ids, event boundaries and the
/// space-joined character string used by the similarity measure. Built once when a pattern is inserted
/// (on every new learn, and for every stored pattern at start-up: few allocations — one object and
/// six arrays, the events kept flat and the future JSON built only when a tie needs it).
final class PatternShape: Sendable {
    let name: String
    /// The symbols of all events, flattened (`events` rebuilds the nested form).
    let symbols: [String]
    /// Cumulative event sizes: `eventEnds[k]` = number of symbols in events 0...k.
    let eventEnds: [Int]
    /// Unicode scalars of `" ".join(flat)` when the text is not pure ASCII (else empty: the ASCII text
    /// is in `packed`).
    let chars: [UInt32]
    /// Everything the scoring reads per candidate, in one buffer (one heap object, one pointer chase,
    /// contiguous cache lines; it was four arrays): `[ASCII text | pad to 8 | suffix hashes and JSON
    /// keys (2n+1 UInt64) | symbol ids (Int32 × length) | event ends (Int32 × n)]`. Read through
    /// ``withPacked(_:)``; `flatIds`, `suffixHashes` and `asciiChars` rebuild arrays for cold callers.
    /// Allocated with the shape, immutable, freed by `deinit`: not an array, so that reading it while
    /// holding the shape costs no retain of a second object (the scoring reads ≈1,450 per query).
    private nonisolated(unsafe) let packed: UnsafeMutableRawPointer
    /// Bytes in `packed` (never 0: it holds at least one hash).
    let packedCount: Int
    /// Byte offsets in `packed` of the hashes, the ids and the event ends.
    let hashesAt: Int32
    let idsAt: Int32
    let endsAt: Int32
    /// Byte offset in `packed` of ``wire`` (in the padding after `endsAt`: no field moves).
    let wireAt: Int32
    /// Number of events (`eventEnds.count`, stored: the hot paths do not load `eventEnds`).
    let eventCount: Int
    /// Number of symbols (`flatIds.count`).
    let length: Int
    /// Whether `packed` holds the similarity text (pure ASCII).
    let isASCII: Bool
    /// The name's first 8 bytes as a big-endian number (orders like the name's text).
    let nameKey: UInt64
    /// Length of the similarity text (Unicode scalars of `" ".join(flat)`), stored: the scoring's
    /// length pass reads it for every candidate.
    let textLength: Int
    /// The nested events, built on first use (predictions, `Pattern` values) and kept.
    private let nestedEvents = Mutex<[[String]]?>(nil)
    /// `json.dumps(events)` and its event offsets: built with the shape when a pattern is learned,
    /// else (a pattern loaded from the store) on first use by ``futureJSON(from:)``.
    private let json: [UInt8]
    private let jsonEventOffsets: [Int32]
    private let lazyJSON = Mutex<JSONText?>(nil)
    /// The events in protobuf wire form (`EventWire`: framed `Event`s and their starts), built with
    /// the shape so that encoders copy events instead of writing symbols one by one. The end of
    /// `packed` (issue 15, third wire pass): as an array it cost the encoder an atomic retain per
    /// future potential on a line nothing else had touched (≈1,065 per 10,000-pattern response, a
    /// third of the encoder's CPU time); as an allocation of its own, a load of its pointer from a
    /// line of the shape the query does not read. Here it is found from `packed` and `wireAt`,
    /// which the scoring reads, and follows the event ends it reads.
    @inline(__always) var wire: UnsafeMutableRawPointer { packed + Int(wireAt) }
    /// Bytes in `wire` (the starts table, the framed events and the name's field: ``nameWire``).
    @inline(__always) var wireCount: Int { packedCount &- Int(wireAt) }

    final class JSONText: Sendable {
        let bytes: [UInt8]
        let eventOffsets: [Int32]
        init(_ bytes: [UInt8], _ eventOffsets: [Int32]) {
            self.bytes = bytes
            self.eventOffsets = eventOffsets
        }
    }

    convenience init(name: String, events: [[String]], flatIds: [Int32]) {
        var symbols: [String] = []
        symbols.reserveCapacity(flatIds.count)
        var ends: [Int] = []
        ends.reserveCapacity(events.count)
        for event in events {
            symbols.append(contentsOf: event)
            ends.append(symbols.count)
        }
        self.init(name: name, symbols: symbols, eventEnds: ends, flatIds: flatIds)
    }

    /// `symbols` flattened, `eventEnds` as the stored field, `flatIds` their ids.
    init(name: String, symbols: [String], eventEnds ends: [Int], flatIds: [Int32], buildJSON: Bool = false) {
        self.name = name
        if buildJSON {
            (json, jsonEventOffsets) = Self.json(symbols: symbols, eventEnds: ends)
        } else {
            (json, jsonEventOffsets) = ([], [])
        }
        self.symbols = symbols
        self.eventEnds = ends
        let n = ends.count
        // Each event's ids sorted (futures are grouped "equal up to order within events"): only for the
        // suffix hashes, not kept (``sameFuture`` compares events as multisets).
        var inOrder = true
        var start = 0
        for end in ends {
            if start < end {
                for i in (start + 1)..<end where flatIds[i - 1] > flatIds[i] { inOrder = false; break }
            }
            if !inOrder { break }
            start = end
        }
        var sorted = flatIds
        if !inOrder {
            start = 0
            for end in ends {
                sorted[start..<end].sort()
                start = end
            }
        }
        // (`Array(repeating:)` + fill: `unsafeUninitializedCapacity` looks up generic metadata per call.)
        var hashes = [UInt64](repeating: 0xcbf2_9ce4_8422_2325, count: 2 * n + 1)
        var k = n - 1
        while k >= 0 {
            var h = hashes[k + 1]
            let start = k == 0 ? 0 : ends[k - 1]
            h = (h ^ UInt64(ends[k] - start) ^ 0x9e37_79b9_7f4a_7c15) &* 0x0000_0100_0000_01b3
            for i in start..<ends[k] {
                h = (h ^ UInt64(UInt32(bitPattern: sorted[i]))) &* 0x0000_0100_0000_01b3
                h ^= h >> 29
            }
            hashes[k] = h
            k -= 1
        }
        for k in 0..<n { hashes[n + 1 + k] = Self.jsonKey(symbols: symbols, eventEnds: ends, from: k) }
        // Text length in UTF-8 bytes (spaces included) and whether it is ASCII.
        var textBytes = symbols.isEmpty ? 0 : symbols.count - 1
        var ascii = true
        for symbol in symbols {
            for b in symbol.utf8 {
                if b >= 0x80 { ascii = false }
                textBytes += 1
            }
        }
        let textAt = ascii ? (textBytes + 7) & ~7 : 0
        let hashesAt = textAt, idsAt = hashesAt + 8 * hashes.count, endsAt = idsAt + 4 * flatIds.count
        let wireAt = endsAt + 4 * n, wireCount = Self.eventWireSize(symbols: symbols, eventEnds: ends)
        let nameWireCount = Self.nameWireSize(name)
        let packedCount = wireAt + wireCount + nameWireCount
        let packed = UnsafeMutableRawPointer.allocate(byteCount: packedCount, alignment: 8)
        packed.initializeMemory(as: UInt8.self, repeating: 32, count: wireAt)
        Self.writeEventWire(UnsafeMutableRawBufferPointer(start: packed + wireAt, count: wireCount), symbols: symbols, eventEnds: ends)
        Self.writeNameWire(UnsafeMutableRawBufferPointer(start: packed + wireAt + wireCount, count: nameWireCount), name)
        do {
            let buf = UnsafeMutableRawBufferPointer(start: packed, count: packedCount)
            if ascii {
                var i = 0
                for symbol in symbols {
                    if i > 0 { i += 1 }
                    for b in symbol.utf8 { buf[i] = b; i += 1 }
                }
            }
            for (k, h) in hashes.enumerated() { buf.storeBytes(of: h, toByteOffset: hashesAt + 8 * k, as: UInt64.self) }
            for (i, id) in flatIds.enumerated() { buf.storeBytes(of: id, toByteOffset: idsAt + 4 * i, as: Int32.self) }
            for (k, e) in ends.enumerated() { buf.storeBytes(of: Int32(e), toByteOffset: endsAt + 4 * k, as: Int32.self) }
        }
        self.packed = packed
        self.packedCount = packedCount
        self.hashesAt = Int32(hashesAt)
        self.idsAt = Int32(idsAt)
        self.endsAt = Int32(endsAt)
        self.wireAt = Int32(wireAt)
        self.eventCount = n
        self.length = flatIds.count
        self.isASCII = ascii
        if ascii {
            self.chars = []
            self.textLength = textBytes
        } else {
            var chars: [UInt32] = []
            chars.reserveCapacity(textBytes)
            for (i, symbol) in symbols.enumerated() {
                if i > 0 { chars.append(32) }
                for scalar in symbol.unicodeScalars { chars.append(scalar.value) }
            }
            self.chars = chars
            self.textLength = chars.count
        }
        // First 8 UTF-8 bytes, big-endian: orders like the name's text (ties need a full comparison).
        var key: UInt64 = 0
        var count = 0
        for b in name.utf8.prefix(8) {
            key = key << 8 | UInt64(b)
            count += 1
        }
        self.nameKey = count == 0 ? 0 : key << (8 * UInt64(8 - count))
    }

    /// Symbol ids of the flattened pattern (a fresh array: for cold callers; hot paths use ``withPacked(_:)``).
    var flatIds: [Int32] { withPacked { v in (0..<length).map { v.id($0) } } }

    /// `suffixHashes[k]` (k ≤ n) hashes the sorted events `k...`; `suffixHashes[n + 1 + k]` is
    /// ``futureJSONKey(from:)`` (a fresh array, for tests).
    var suffixHashes: [UInt64] { withPacked { v in (0..<(2 * eventCount + 1)).map { v.hash($0) } } }

    /// The similarity text as bytes when it is pure ASCII (a fresh array, for cold callers).
    var asciiChars: [UInt8]? { isASCII ? Array(UnsafeRawBufferPointer(start: packed, count: textLength)) : nil }

    deinit { packed.deallocate() }

    /// The grouping hash of the future starting at event `k` (k ≤ n).
    @inline(__always) func suffixHash(_ k: Int) -> UInt64 { withPacked { $0.hash(k) } }

    /// A read-only view of `packed` for the duration of `body` (no copy, no allocation, no retain).
    @inline(__always)
    func withPacked<R>(_ body: (PackedView) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(packedView) }
    }

    /// The view of ``withPacked(_:)``, valid only while this shape is alive (the caller holds it:
    /// the scoring's knowledge-base snapshot does).
    @inline(__always)
    var packedView: PackedView {
        let base = UnsafeRawPointer(packed)
        return PackedView(
            ids: base + Int(idsAt), ends: base + Int(endsAt), hashes: base + Int(hashesAt),
            text: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: isASCII ? textLength : 0))
    }

    /// The start of `packed` (``PatternSummary`` keeps it, valid while this shape is alive).
    @inline(__always) var packedBase: UnsafeRawPointer { UnsafeRawPointer(packed) }

    /// ``packedView`` from the fields the layout follows from (the initialiser's offsets: the text
    /// padded to 8 bytes when ASCII, else none; `2n + 1` hashes; `length` ids; `n` ends), so that a
    /// ``PatternSummary`` can read the buffer without loading the shape's offsets.
    @inline(__always)
    static func packedView(base: UnsafeRawPointer, textLength: Int, isASCII: Bool, eventCount: Int, length: Int) -> PackedView {
        let hashesAt = isASCII ? (textLength &+ 7) & ~7 : 0
        let idsAt = hashesAt &+ 8 &* (2 &* eventCount &+ 1)
        let endsAt = idsAt &+ 4 &* length
        return PackedView(
            ids: base + idsAt, ends: base + endsAt, hashes: base + hashesAt,
            text: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: isASCII ? textLength : 0))
    }

    /// The flattened symbols borrowed in place for the duration of `body` (readers of predictions).
    @inline(__always)
    func withSymbols<R>(_ body: (Span<String>) throws -> R) rethrows -> R {
        let symbols = self.symbols  // (a class's stored array cannot lend a span directly)
        return try body(symbols.span)
    }

    /// Typed reads of a shape's `packed` buffer (valid inside ``withPacked(_:)`` only). Unchecked
    /// unaligned loads: the offsets are fixed by the initialiser and the callers stay within
    /// `length` ids, `eventCount` ends and `2·eventCount + 1` hashes.
    struct PackedView {
        let ids: UnsafeRawPointer
        let ends: UnsafeRawPointer
        let hashes: UnsafeRawPointer
        /// The ASCII similarity text (empty when the text is not ASCII).
        let text: UnsafeBufferPointer<UInt8>
        @inline(__always) func id(_ i: Int) -> Int32 { ids.loadUnaligned(fromByteOffset: 4 &* i, as: Int32.self) }
        /// `eventEnds[k]`.
        @inline(__always) func end(_ k: Int) -> Int { Int(ends.loadUnaligned(fromByteOffset: 4 &* k, as: Int32.self)) }
        @inline(__always) func start(_ k: Int) -> Int { k == 0 ? 0 : end(k - 1) }
        @inline(__always) func hash(_ k: Int) -> UInt64 { hashes.loadUnaligned(fromByteOffset: 8 &* k, as: UInt64.self) }
        /// Whether event range `start..<end` holds the id `x`.
        @inline(__always) func contains(_ x: Int32, in range: Range<Int>) -> Bool {
            for i in range where id(i) == x { return true }
            return false
        }
    }

    /// The symbols of event `k`.
    @inline(__always) func event(_ k: Int) -> ArraySlice<String> { symbols[eventStart(k)..<eventEnds[k]] }

    /// Events `range` in the nested form.
    func events(_ range: Range<Int>) -> [[String]] {
        var out: [[String]] = []
        out.reserveCapacity(range.count)
        for k in range { out.append(Array(event(k))) }
        return out
    }

    /// All events in the nested form.
    var events: [[String]] {
        nestedEvents.withLock { cached in
            if let cached { return cached }
            let built = events(0..<eventCount)
            cached = built
            return built
        }
    }

    /// The JSON text (`json.dumps`) of the future starting at event `k`, without its leading `[`
    /// (common to all futures): `[e_k], [e_k+1], …]`. The pattern's JSON is built the first time a
    /// ranking tie needs it and kept (most patterns never need it).
    @inline(__always)
    func futureJSON(from k: Int) -> ArraySlice<UInt8> {
        if !json.isEmpty { return json[Int(jsonEventOffsets[k])...] }
        return lazyFutureJSON(from: k)
    }

    @inline(never)
    private func lazyFutureJSON(from k: Int) -> ArraySlice<UInt8> {
        let text = lazyJSON.withLock { cached in
            if let cached { return cached }
            let (bytes, offsets) = Self.json(symbols: symbols, eventEnds: eventEnds)
            let built = JSONText(bytes, offsets)
            cached = built
            return built
        }
        return text.bytes[Int(text.eventOffsets[k])...]
    }

    /// `json.dumps(events)` (ASCII) and, per event k, the offset where event k's text starts.
    private static func json(symbols: [String], eventEnds: [Int]) -> ([UInt8], [Int32]) {
        var json: [UInt8] = [UInt8(ascii: "[")]
        var textBytes = 0
        for symbol in symbols { textBytes += symbol.utf8.count }
        json.reserveCapacity(2 + 4 * eventEnds.count + 4 * symbols.count + textBytes)
        var offsets: [Int32] = []
        offsets.reserveCapacity(eventEnds.count)
        for e in 0..<eventEnds.count {
            if e > 0 { json.append(UInt8(ascii: ",")); json.append(UInt8(ascii: " ")) }
            offsets.append(Int32(json.count))
            json.append(UInt8(ascii: "["))
            for (j, symbol) in symbols[(e == 0 ? 0 : eventEnds[e - 1])..<eventEnds[e]].enumerated() {
                if j > 0 { json.append(UInt8(ascii: ",")); json.append(UInt8(ascii: " ")) }
                if PythonRepr.isPlainASCII(symbol) {
                    json.append(UInt8(ascii: "\""))
                    json.append(contentsOf: symbol.utf8)
                    json.append(UInt8(ascii: "\""))
                } else {
                    json.append(contentsOf: PythonJSON.string(symbol).utf8)
                }
            }
            json.append(UInt8(ascii: "]"))
        }
        json.append(UInt8(ascii: "]"))
        return (json, offsets)
    }




    /// The first 8 bytes of the future's JSON text from event `k` (``futureJSON(from:)``), big-endian,
    /// zero-padded: orders like the text itself (JSON text has no zero byte), so only equal keys need
    /// ``futureJSONPrecedes(from:_:from:)``. Precomputed at learn time.
    @inline(__always) func futureJSONKey(from k: Int) -> UInt64 { suffixHash(eventCount + 1 + k) }

    /// The key of ``futureJSONKey(from:)`` computed from the symbols.
    static func jsonKey(symbols: [String], eventEnds: [Int], from k: Int) -> UInt64 {
        var key: UInt64 = 0
        var n = 0
        func put(_ bytes: some Sequence<UInt8>) {
            for b in bytes {
                if n == 8 { return }
                key = key << 8 | UInt64(b)
                n += 1
            }
        }
        var e = k
        while e < eventEnds.count && n < 8 {
            if e > k { put([0x2C, 0x20]) }
            put([0x5B])
            for (j, symbol) in symbols[(e == 0 ? 0 : eventEnds[e - 1])..<eventEnds[e]].enumerated() {
                if n == 8 { break }
                if j > 0 { put([0x2C, 0x20]) }
                if PythonRepr.isPlainASCII(symbol) {
                    put([0x22])
                    put(symbol.utf8)
                    put([0x22])
                } else {
                    put(PythonJSON.string(symbol).utf8)
                }
            }
            put([0x5D])
            e += 1
        }
        put([0x5D])
        return n == 0 ? 0 : key << (8 * UInt64(8 - n))
    }

    /// Whether the JSON text of the future from event `k` sorts before that of `other` from `otherK`
    /// (byte order, as Python compares the `json.dumps` strings; all ASCII). Only needed when the
    /// 8-byte keys are equal; the texts are built for the comparison and not kept.
    func futureJSONPrecedes(from k: Int, _ other: PatternShape, from otherK: Int) -> Bool {
        let a = futureJSONText(from: k), b = other.futureJSONText(from: otherK)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let ba = pa.baseAddress, let bb = pb.baseAddress {
                    let c = memcmp(ba, bb, n)
                    if c != 0 { return c < 0 }
                }
                return pa.count < pb.count
            }
        }
    }

    /// ``futureJSON(from:)`` without keeping anything: the JSON of events `k...` minus its leading `[`.
    func futureJSONText(from k: Int) -> ArraySlice<UInt8> {
        if !json.isEmpty { return json[Int(jsonEventOffsets[k])...] }
        let start = eventStart(k)
        let ends = eventEnds[k...].map { $0 - start }
        return Self.json(symbols: Array(symbols[start...]), eventEnds: ends).0.dropFirst()
    }

    /// Start index (in the flat pattern) of event `k`.
    @inline(__always) func eventStart(_ k: Int) -> Int { k == 0 ? 0 : eventEnds[k - 1] }

    /// Whether the futures starting at event `k` here and at event `otherK` of `other` are equal up to
    /// the order of symbols inside each event (each event pair compared as multisets).
    func sameFuture(from k: Int, as other: PatternShape, from otherK: Int) -> Bool {
        if eventCount - k != other.eventCount - otherK { return false }
        return withPacked { x in
            other.withPacked { y in
                var a = k, b = otherK
                while a < eventCount {
                    let sa = x.start(a), sb = y.start(b)
                    let size = x.end(a) - sa
                    if y.end(b) - sb != size { return false }
                    if !Self.sameMultiset(x, sa, y, sb, size) { return false }
                    a += 1
                    b += 1
                }
                return true
            }
        }
    }

    /// Ids `xs..<xs+size` of `x` and `ys..<ys+size` of `y` equal as multisets: element counts for
    /// small events, sorted copies otherwise.
    private static func sameMultiset(_ x: PackedView, _ xs: Int, _ y: PackedView, _ ys: Int, _ size: Int) -> Bool {
        var equal = true
        for i in 0..<size where x.id(xs + i) != y.id(ys + i) { equal = false; break }
        if equal { return true }
        if size > 16 {
            return (0..<size).map { x.id(xs + $0) }.sorted() == (0..<size).map { y.id(ys + $0) }.sorted()
        }
        for i in 0..<size {
            let v = x.id(xs + i)
            var cx = 0, cy = 0
            for j in 0..<size {
                if x.id(xs + j) == v { cx += 1 }
                if y.id(ys + j) == v { cy += 1 }
            }
            if cx != cy { return false }
        }
        return true
    }
}

/// The mutable part of a stored pattern.
struct PatternRecord: Sendable {
    var frequency: Int
    var emotives: [[String: Double]]?
    var metadata: [String: [String]]
    /// What this pattern's learns added to each of its symbols' emotive sums (every learn's stored
    /// emotives, not only the window): subtracted again by a deletion. `nil` for a pattern never
    /// learned with emotives in this process (a loaded one: see `KnowledgeState.delete`).
    var emotiveTotals: [String: Double]? = nil
}
