/// Byte order of the `json.dumps` texts of two futures, computed as a stream: each side's text is
/// produced one event at a time into a reused buffer and compared as it comes, so the comparison
/// stops at the first differing byte (usually inside the first event) and builds no whole text.
/// Same result as comparing ``PatternShape/futureJSONText(from:)`` byte by byte (tested).
struct FutureJSONStream {
    private let shape: PatternShape
    private var event: Int
    private let first: Int
    /// The current event's text is `buffer[0..<count]` (the buffer is reused, never shrunk).
    fileprivate var buffer: [UInt8] = []
    private var count = 0
    private var position = 0
    private var closed = false

    init(_ shape: PatternShape, from k: Int) {
        self.shape = shape
        self.event = k
        self.first = k
    }

    /// The next byte of the text, or `nil` at its end.
    @inline(__always)
    mutating func next() -> UInt8? {
        if position == count && !refill() { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    /// Puts the next event's text (or the closing `]`) in the buffer; `false` at the end.
    private mutating func refill() -> Bool {
        position = 0
        if event >= shape.eventCount {
            if closed { return false }
            closed = true
            if buffer.isEmpty { buffer = [0] }
            buffer[0] = UInt8(ascii: "]")
            count = 1
            return true
        }
        let lo = shape.eventStart(event), hi = shape.eventEnds[event]
        let symbols = shape.symbols
        // Room for the event as if every symbol were plain: `, [` + `"s", ` per symbol + `]`.
        var room = 4
        for x in lo..<hi { room += symbols[x].utf8.count + 4 }
        if buffer.count < room { buffer = [UInt8](repeating: 0, count: max(room, 2 * buffer.count, 64)) }
        // Written in place, one pass; a symbol that JSON escapes (not plain printable ASCII) sends the
        // event to the general path (rare: the texts of escaped symbols differ in length).
        let written: Int? = buffer.withUnsafeMutableBufferPointer { out in
            var o = 0
            if event > first { out[0] = UInt8(ascii: ","); out[1] = UInt8(ascii: " "); o = 2 }
            out[o] = UInt8(ascii: "["); o += 1
            for x in lo..<hi {
                if x > lo { out[o] = UInt8(ascii: ","); out[o + 1] = UInt8(ascii: " "); o += 2 }
                out[o] = UInt8(ascii: "\""); o += 1
                // The symbol's bytes where they are stored (one check loop and one copy), else one by one.
                let copied: Bool? = symbols[x].utf8.withContiguousStorageIfAvailable { bytes in
                    for b in bytes where b < 0x20 || b > 0x7E || b == 0x27 || b == 0x22 || b == 0x5C { return false }
                    if let from = bytes.baseAddress { (out.baseAddress! + o).update(from: from, count: bytes.count) }
                    o += bytes.count
                    return true
                }
                if copied == false { return nil }
                if copied == nil {
                    for b in symbols[x].utf8 {
                        if b < 0x20 || b > 0x7E || b == 0x27 || b == 0x22 || b == 0x5C { return nil }
                        out[o] = b
                        o += 1
                    }
                }
                out[o] = UInt8(ascii: "\""); o += 1
            }
            out[o] = UInt8(ascii: "]"); o += 1
            return o
        }
        if let written {
            count = written
        } else {
            refillEscaped(symbols[lo..<hi])
        }
        event += 1
        return true
    }

    /// ``refill()`` for an event holding a symbol that JSON escapes.
    private mutating func refillEscaped(_ symbols: ArraySlice<String>) {
        var text: [UInt8] = []
        if event > first { text.append(UInt8(ascii: ",")); text.append(UInt8(ascii: " ")) }
        text.append(UInt8(ascii: "["))
        var j = 0
        for symbol in symbols {
            if j > 0 { text.append(UInt8(ascii: ",")); text.append(UInt8(ascii: " ")) }
            if PythonRepr.isPlainASCII(symbol) {
                text.append(UInt8(ascii: "\""))
                text.append(contentsOf: symbol.utf8)
                text.append(UInt8(ascii: "\""))
            } else {
                text.append(contentsOf: PythonJSON.string(symbol).utf8)
            }
            j += 1
        }
        text.append(UInt8(ascii: "]"))
        buffer = text
        count = text.count
    }

    /// Whether the future of `a` from `ka` sorts before that of `b` from `kb` (bytes, then length).
    static func precedes(_ a: PatternShape, from ka: Int, _ b: PatternShape, from kb: Int) -> Bool {
        var scratch = Scratch()
        return precedes(a, from: ka, b, from: kb, scratch: &scratch)
    }

    /// Two buffers lent to the streams of successive comparisons (a sort's), so that a comparison
    /// allocates nothing once they have grown.
    struct Scratch {
        fileprivate var a: [UInt8] = []
        fileprivate var b: [UInt8] = []
    }

    /// ``precedes(_:from:_:from:)`` with buffers reused across calls.
    static func precedes(_ a: PatternShape, from ka: Int, _ b: PatternShape, from kb: Int, scratch: inout Scratch) -> Bool {
        var x = FutureJSONStream(a, from: ka), y = FutureJSONStream(b, from: kb)
        swap(&x.buffer, &scratch.a)
        swap(&y.buffer, &scratch.b)
        defer {
            swap(&x.buffer, &scratch.a)
            swap(&y.buffer, &scratch.b)
        }
        while true {
            let bx = x.next(), by = y.next()
            guard let cx = bx else { return by != nil }
            guard let cy = by else { return false }
            if cx != cy { return cx < cy }
        }
    }
}
