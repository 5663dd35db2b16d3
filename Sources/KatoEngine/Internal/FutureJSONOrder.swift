/// Byte order of the `json.dumps` texts of two futures, computed as a stream: each side's text is
/// produced one event at a time into a reused buffer and compared as it comes, so the comparison
/// stops at the first differing byte (usually inside the first event) and builds no whole text.
/// Same result as comparing ``PatternShape/futureJSONText(from:)`` byte by byte (tested).
struct FutureJSONStream {
    private let shape: PatternShape
    private var event: Int
    private let first: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var closed = false

    init(_ shape: PatternShape, from k: Int) {
        self.shape = shape
        self.event = k
        self.first = k
        buffer.reserveCapacity(64)
    }

    /// The next byte of the text, or `nil` at its end.
    @inline(__always)
    mutating func next() -> UInt8? {
        if position == buffer.count && !refill() { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    /// Puts the next event's text (or the closing `]`) in the buffer; `false` at the end.
    private mutating func refill() -> Bool {
        buffer.removeAll(keepingCapacity: true)
        position = 0
        if event >= shape.eventCount {
            if closed { return false }
            closed = true
            buffer.append(UInt8(ascii: "]"))
            return true
        }
        if event > first { buffer.append(UInt8(ascii: ",")); buffer.append(UInt8(ascii: " ")) }
        buffer.append(UInt8(ascii: "["))
        var j = 0
        for symbol in shape.event(event) {
            if j > 0 { buffer.append(UInt8(ascii: ",")); buffer.append(UInt8(ascii: " ")) }
            if PythonRepr.isPlainASCII(symbol) {
                buffer.append(UInt8(ascii: "\""))
                buffer.append(contentsOf: symbol.utf8)
                buffer.append(UInt8(ascii: "\""))
            } else {
                buffer.append(contentsOf: PythonJSON.string(symbol).utf8)
            }
            j += 1
        }
        buffer.append(UInt8(ascii: "]"))
        event += 1
        return true
    }

    /// Whether the future of `a` from `ka` sorts before that of `b` from `kb` (bytes, then length).
    static func precedes(_ a: PatternShape, from ka: Int, _ b: PatternShape, from kb: Int) -> Bool {
        var x = FutureJSONStream(a, from: ka), y = FutureJSONStream(b, from: kb)
        while true {
            let bx = x.next(), by = y.next()
            guard let cx = bx else { return by != nil }
            guard let cy = by else { return false }
            if cx != cy { return cx < cy }
        }
    }
}
