/// Symbols as UTF-8 bytes in one contiguous buffer (`bytes[ends[i-1]..<ends[i]]` is symbol `i`),
/// so a reader (`Prediction.forEachSymbolUTF8`, …) gets each symbol as a `Span<UInt8>`: no
/// `String` copied (retained and released) per symbol. A pattern builds its table the first time one of its predictions is read in place
/// (`PatternShape.utf8`); a prediction list builds one for its STM (`PredictionBatch`).
final class UTF8Symbols: Sendable {
    let bytes: [UInt8]
    let ends: [Int32]

    init(_ symbols: [String]) {
        var bytes: [UInt8] = []
        var size = 0
        for s in symbols { size += s.utf8.count }
        bytes.reserveCapacity(size)
        var ends: [Int32] = []
        ends.reserveCapacity(symbols.count)
        for s in symbols {
            bytes.append(contentsOf: s.utf8)
            ends.append(Int32(bytes.count))
        }
        self.bytes = bytes
        self.ends = ends
    }

    /// Calls `body` with the UTF-8 of symbols `lo..<hi`, one at a time.
    @inline(__always)
    func forEach(_ lo: Int, _ hi: Int, _ body: (Span<UInt8>) throws -> Void) rethrows {
        // Local copies (no copy of the storage: one retain each) for the spans to borrow.
        let bytes = bytes, ends = ends
        let span = bytes.span
        var from = lo == 0 ? 0 : Int(ends[lo - 1])
        for x in lo..<hi {
            let to = Int(ends[x])
            try body(span.extracting(from..<to))
            from = to
        }
    }

    /// Calls `body` with the UTF-8 of symbol `x`.
    @inline(__always)
    func with(_ x: Int, _ body: (Span<UInt8>) throws -> Void) rethrows {
        let bytes = bytes
        let from = x == 0 ? 0 : Int(ends[x - 1])
        try body(bytes.span.extracting(from..<Int(ends[x])))
    }
}

/// The UTF-8 of a symbol held as a `String` (explicitly set fields, decoded predictions): copied
/// once into an array, the slow path.
@inline(never)
func withUTF8Span(_ s: String, _ body: (Span<UInt8>) throws -> Void) rethrows {
    let bytes = Array(s.utf8)
    try body(bytes.span)
}
