import CKatoSIMD

/// Character-level Indel similarity `2·LCS/(|a|+|b|)` (RapidFuzz `fuzz.ratio`/100) with a bit-parallel
/// LCS (Allison–Dix / Hyyrö) over Unicode scalars, multi-word for long texts.
///
/// The pattern-match table is built once for the query text; each candidate text is then scanned
/// one scalar at a time with ⌈|query|/64⌉ word operations per scalar.
struct IndelSimilarity {
    private let words: Int
    private let queryLength: Int
    /// ASCII masks: `ascii[c * words + w]`.
    private var ascii: [UInt64]
    /// Non-ASCII scalar → masks.
    private var other: [UInt32: [UInt64]]
    private var lastWordMask: UInt64
    /// Four texts advance in the lanes of one AVX2 register (`kato_lcs4_avx2`): the same integer
    /// operations per lane as the scalar loop, hence the same LCS. Off on CPUs without AVX2.
    private let vectorised: Bool
    /// The query's ASCII alphabet compressed for the AVX-512 kernel (`kato_lcs8_avx512`): character →
    /// index 1…15 (0: not in the query) and index → match mask. Empty when that kernel does not apply
    /// (no AVX-512 on this CPU, a query over 64 characters, or more than 15 distinct ASCII characters).
    private var charIndex: [UInt8] = []
    private var indexMasks: [UInt64] = []

    /// Whether this CPU runs the AVX2 kernel (checked once).
    static let cpuHasAVX2 = kato_simd_has_avx2() != 0
    /// Whether this CPU runs the AVX-512 kernel (checked once).
    static let cpuHasAVX512 = kato_simd_has_avx512() != 0

    /// `vectorised: false` forces the scalar loop, `wide: false` the four-lane kernel (tests compare them).
    init(query: [UInt32], vectorised: Bool = IndelSimilarity.cpuHasAVX2, wide: Bool = IndelSimilarity.cpuHasAVX512) {
        self.vectorised = vectorised
        queryLength = query.count
        words = max(1, (query.count + 63) / 64)
        ascii = [UInt64](repeating: 0, count: 128 * words)
        other = [:]
        for (i, c) in query.enumerated() {
            let w = i >> 6
            let bit = UInt64(1) << UInt64(i & 63)
            if c < 128 {
                ascii[Int(c) * words + w] |= bit
            } else {
                other[c, default: [UInt64](repeating: 0, count: words)][w] |= bit
            }
        }
        let rem = query.count & 63
        lastWordMask = rem == 0 ? ~0 : (UInt64(1) << UInt64(rem)) - 1
        if wide && words == 1 && !query.isEmpty {
            // The texts of this path are ASCII, so a non-ASCII query character never matches one:
            // the compressed table needs only the ASCII characters, whose masks are `ascii[c]`.
            var index = [UInt8](repeating: 0, count: 128)
            var masks = [UInt64](repeating: 0, count: 16)
            var distinct = 0
            for c in 0..<128 where ascii[c] != 0 {
                distinct += 1
                if distinct > 15 { break }
                index[c] = UInt8(distinct)
                masks[distinct] = ascii[c]
            }
            if distinct <= 15 {
                charIndex = index
                indexMasks = masks
            }
        }
    }

    /// LCS length of the query and `text`.
    func lcs(_ text: [UInt32]) -> Int {
        if queryLength == 0 || text.isEmpty { return 0 }
        if words == 1 {
            var v: UInt64 = ~0
            return ascii.withUnsafeBufferPointer { tableBuffer in
                text.withUnsafeBufferPointer { textBuffer in
                    let table = tableBuffer.baseAddress!
                    for c in textBuffer {
                        let pm: UInt64
                        if c < 128 { pm = table[Int(c)] } else { pm = other[c]?[0] ?? 0 }
                        let u = v & pm
                        v = (v &+ u) | (v &- u)
                    }
                    return (~v & lastWordMask).nonzeroBitCount
                }
            }
        }
        var v = [UInt64](repeating: ~0, count: words)
        let zero = [UInt64](repeating: 0, count: words)
        ascii.withUnsafeBufferPointer { table in
            v.withUnsafeMutableBufferPointer { vp in
                for c in text {
                    var carry: UInt64 = 0
                    if c < 128 {
                        let base = Int(c) * words
                        for w in 0..<words {
                            let pm = table[base + w]
                            let vw = vp[w]
                            let u = vw & pm
                            let (s1, o1) = vw.addingReportingOverflow(u)
                            let (s2, o2) = s1.addingReportingOverflow(carry)
                            carry = (o1 || o2) ? 1 : 0
                            vp[w] = s2 | (vw &- u)
                        }
                    } else {
                        let masks = other[c] ?? zero
                        for w in 0..<words {
                            let vw = vp[w]
                            let u = vw & masks[w]
                            let (s1, o1) = vw.addingReportingOverflow(u)
                            let (s2, o2) = s1.addingReportingOverflow(carry)
                            carry = (o1 || o2) ? 1 : 0
                            vp[w] = s2 | (vw &- u)
                        }
                    }
                }
            }
        }
        var zeros = 0
        for w in 0..<words {
            let m: UInt64 = (w == words - 1) ? lastWordMask : ~0
            zeros += (~v[w] & m).nonzeroBitCount
        }
        return zeros
    }

    /// LCS length of the query and an ASCII `text` (single-word fast path when the query fits 64 scalars).
    func lcs(ascii text: [UInt8]) -> Int {
        text.withUnsafeBufferPointer { lcs(ascii: $0) }
    }

    func lcs(ascii textBuffer: UnsafeBufferPointer<UInt8>) -> Int {
        if queryLength == 0 || textBuffer.isEmpty { return 0 }
        if words == 1 {
            var v: UInt64 = ~0
            return ascii.withUnsafeBufferPointer { tableBuffer in
                let table = tableBuffer.baseAddress!
                for c in textBuffer {
                    let u = v & table[Int(c)]
                    v = (v &+ u) | (v &- u)
                }
                return (~v & lastWordMask).nonzeroBitCount
            }
        }
        return lcs(textBuffer.map { UInt32($0) })
    }

    /// Whether ``similarities(_:_:_:_:)`` applies: the query fits one word (every text is then scanned
    /// with one table load and four word operations per character).
    var isSingleWord: Bool { words == 1 && queryLength > 0 }

    /// The similarities of four ASCII texts at once. The bit-parallel LCS is one long dependency chain
    /// per text (≈3 cycles per character); four independent chains interleaved keep the ALUs busy.
    /// Requires ``isSingleWord`` and non-empty texts; same arithmetic as ``lcs(ascii:)`` per text.
    func similarities(_ a: [UInt8], _ b: [UInt8], _ c: [UInt8], _ d: [UInt8]) -> (Double, Double, Double, Double) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeBufferPointer { pc in
                    d.withUnsafeBufferPointer { pd in similarities(pa, pb, pc, pd) }
                }
            }
        }
    }

    /// ``similarities(_:_:_:_:)`` of four texts given as buffers (a pattern's packed text).
    @inline(__always)
    func similarities(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, _ c: UnsafeBufferPointer<UInt8>,
        _ d: UnsafeBufferPointer<UInt8>
    ) -> (Double, Double, Double, Double) {
        let (la, lb, lc, ld) = ascii.withUnsafeBufferPointer { tableBuffer in
            Self.lcs4(tableBuffer.baseAddress!, a, b, c, d, vectorised: vectorised)
        }
        let m = lastWordMask
        return (
            Self.ratio(lcs: (~la & m).nonzeroBitCount, lengthSum: queryLength + a.count),
            Self.ratio(lcs: (~lb & m).nonzeroBitCount, lengthSum: queryLength + b.count),
            Self.ratio(lcs: (~lc & m).nonzeroBitCount, lengthSum: queryLength + c.count),
            Self.ratio(lcs: (~ld & m).nonzeroBitCount, lengthSum: queryLength + d.count))
    }

    /// The final LCS bit vectors of four texts (single word).
    @inline(__always)
    private static func lcs4(
        _ table: UnsafePointer<UInt64>, _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>,
        _ c: UnsafeBufferPointer<UInt8>, _ d: UnsafeBufferPointer<UInt8>, vectorised: Bool
    ) -> (UInt64, UInt64, UInt64, UInt64) {
        var va: UInt64 = ~0, vb: UInt64 = ~0, vc: UInt64 = ~0, vd: UInt64 = ~0
        let n = min(min(a.count, b.count), min(c.count, d.count))
        var i = 0
        if vectorised, n > 0 {
            var lanes: (UInt64, UInt64, UInt64, UInt64) = (~0, ~0, ~0, ~0)
            withUnsafeMutableBytes(of: &lanes) { raw in
                kato_lcs4_avx2(
                    table, a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!, n,
                    raw.baseAddress!.assumingMemoryBound(to: UInt64.self))
            }
            (va, vb, vc, vd) = lanes
            i = n
        }
        while i < n {
            let ua = va & table[Int(a[i])], ub = vb & table[Int(b[i])]
            let uc = vc & table[Int(c[i])], ud = vd & table[Int(d[i])]
            va = (va &+ ua) | (va &- ua)
            vb = (vb &+ ub) | (vb &- ub)
            vc = (vc &+ uc) | (vc &- uc)
            vd = (vd &+ ud) | (vd &- ud)
            i += 1
        }
        @inline(__always) func finish(_ v0: UInt64, _ t: UnsafeBufferPointer<UInt8>) -> UInt64 {
            var v = v0
            var j = n
            while j < t.count {
                let u = v & table[Int(t[j])]
                v = (v &+ u) | (v &- u)
                j += 1
            }
            return v
        }
        return (finish(va, a), finish(vb, b), finish(vc, c), finish(vd, d))
    }

    /// Whether ``similarities8(_:into:)`` applies (AVX-512, a single-word query of at most 15
    /// distinct ASCII characters).
    var hasEightLanes: Bool { !charIndex.isEmpty }

    /// The similarities of eight non-empty ASCII texts at once (`texts[0..<8]`) into `out[0..<8]`:
    /// the AVX-512 kernel for the shortest one's length, then each text's tail alone. Requires
    /// ``hasEightLanes``; the same LCS integer per text as ``lcs(ascii:)``.
    func similarities8(_ texts: UnsafePointer<UnsafeBufferPointer<UInt8>>, into out: UnsafeMutablePointer<Double>) {
        var n = texts[0].count
        for k in 1..<8 { n = min(n, texts[k].count) }
        var lanes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0)
        withUnsafeMutableBytes(of: &lanes) { raw in
            let v = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: 8) { starts in
                for k in 0..<8 { starts[k] = texts[k].baseAddress }
                charIndex.withUnsafeBufferPointer { index in
                    indexMasks.withUnsafeBufferPointer { masks in
                        kato_lcs8_avx512(index.baseAddress!, masks.baseAddress!, starts.baseAddress!, n, v)
                    }
                }
            }
            ascii.withUnsafeBufferPointer { tableBuffer in
                let table = tableBuffer.baseAddress!
                let m = lastWordMask
                for k in 0..<8 {
                    let t = texts[k]
                    var x = v[k]
                    var j = n
                    while j < t.count {
                        let u = x & table[Int(t[j])]
                        x = (x &+ u) | (x &- u)
                        j += 1
                    }
                    out[k] = Self.ratio(lcs: (~x & m).nonzeroBitCount, lengthSum: queryLength + t.count)
                }
            }
        }
    }

    /// Similarity against a pattern's text.
    func similarity(_ shape: PatternShape) -> Double {
        if shape.isASCII {
            return shape.withPacked { Self.ratio(lcs: lcs(ascii: $0.text), lengthSum: queryLength + $0.text.count) }
        }
        return similarity(shape.chars)
    }

    /// Similarity against a pattern's text read from its summary (the shape only for a non-ASCII text).
    @inline(__always)
    func similarity(_ summary: PatternSummary, shape: () -> PatternShape) -> Double {
        if summary.isASCII {
            let text = summary.packedView.text
            return Self.ratio(lcs: lcs(ascii: text), lengthSum: queryLength + text.count)
        }
        return similarity(shape().chars)
    }

    /// RapidFuzz's normalized Indel similarity, computed the way `fuzz.ratio(a, b) / 100` rounds.
    func similarity(_ text: [UInt32]) -> Double {
        Self.ratio(lcs: lcs(text), lengthSum: queryLength + text.count)
    }

    static func ratio(lcs: Int, lengthSum: Int) -> Double {
        if lengthSum == 0 { return 1.0 }
        let distance = lengthSum - 2 * lcs
        let normalized = 1.0 - Double(distance) / Double(lengthSum)
        return (normalized * 100) / 100.0
    }
}
