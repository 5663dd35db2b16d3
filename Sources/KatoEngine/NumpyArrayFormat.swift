/// An exact re-implementation of numpy's `str(np.array(x, dtype=float64))` for 1-D arrays with the
/// default print options (precision 8, floatmode "maxprec", linewidth 75, threshold 1000, edgeitems 3).
///
/// KATO names a vector symbol `VCTR|sha1(str(array))`, so the text must match numpy byte for byte.
/// ```swift
/// NumpyArrayFormat.string([1, 2, 3])   // "[1. 2. 3.]"
/// NumpyArrayFormat.string([0.5, 0.25]) // "[0.5  0.25]"
/// ```
public enum NumpyArrayFormat {
    static let precision = 8
    static let lineWidth = 75
    static let threshold = 1000
    static let edgeItems = 3

    /// numpy's `array_str` of a 1-D float64 array.
    public static func string(_ values: [Double]) -> String {
        if values.isEmpty { return "[]" }
        let summarize = values.count > threshold
        let data = summarize ? Array(values.prefix(edgeItems) + values.suffix(edgeItems)) : values
        let format = FloatFormat(data)
        var words = data.map(format.format)
        if summarize { words.insert("...", at: edgeItems) }

        // _formatArray for one axis: hanging indent " ", element width linewidth − len("]").
        let elementWidth = lineWidth - 1
        var s = ""
        var line = " "
        for (index, word) in words.enumerated() {
            var needsWrap = line.utf8.count + word.utf8.count > elementWidth
            if line.utf8.count <= 1 { needsWrap = false }
            if needsWrap {
                s += rstrip(line) + "\n"
                line = " "
            }
            line += word
            if index < words.count - 1 { line += " " }
        }
        s += line
        return "[" + s.dropFirst() + "]"
    }

    private static func rstrip(_ s: String) -> String {
        var u = Array(s.utf8)
        while let last = u.last, last == UInt8(ascii: " ") { u.removeLast() }
        return String(decoding: u, as: UTF8.self)
    }

    /// numpy's `FloatingFormat` (fillFormat + __call__) for float64 with sign '-'.
    struct FloatFormat {
        var expFormat = false
        var padLeft = 0
        var padRight = 0
        var expSize = -1
        /// Scientific mode: fractional digit count (min_digits = precision).
        var sciPrecision = 0

        init(_ data: [Double]) {
            let finite = data.filter(\.isFinite)
            let nonZero = finite.filter { $0 != 0 }.map(abs)
            if let maxVal = nonZero.max(), let minVal = nonZero.min() {
                if maxVal >= 1e8 || minVal < 0.0001 || maxVal / minVal > 1000 {
                    expFormat = true
                }
            }
            if finite.isEmpty {
                padLeft = 0
                padRight = 0
                expSize = -1
            } else if expFormat {
                let parts = finite.map { FloatFormat.scientificParts($0) }
                expSize = parts.map { $0.exp.count }.max()!
                sciPrecision = parts.map { $0.frac.count }.max()!
                padLeft = parts.map { $0.int.count }.max()!
                padRight = expSize + 2 + sciPrecision
            } else {
                let parts = finite.map(FloatFormat.positionalParts)
                padLeft = parts.map { $0.int.count }.max()!
                padRight = parts.map { $0.frac.count }.max()!
            }
            if finite.count != data.count {
                let negInf = data.contains { $0.isInfinite && $0 < 0 }
                let offset = padRight + 1
                padLeft = max(padLeft, 3 - offset, 3 + (negInf ? 1 : 0) - offset)
            }
        }

        func format(_ x: Double) -> String {
            if !x.isFinite {
                let text = x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf")
                let pad = padLeft + padRight + 1 - text.utf8.count
                return String(repeating: " ", count: max(0, pad)) + text
            }
            if expFormat {
                // Second pass: min_digits = precision makes Dragon4 emit the exact value's digits
                // (not zero padding) — visible for subnormals, e.g. 5e-324 → 4.94065646e-324.
                let p = FloatFormat.scientificParts(x, exactSignificantDigits: sciPrecision + 1)
                let frac = p.frac + String(repeating: "0", count: sciPrecision - p.frac.count)
                let digits = String(repeating: "0", count: max(0, expSize - p.exp.count)) + p.exp
                return pad(p.int, to: padLeft) + "." + frac + "e" + p.expSign + digits
            } else {
                let p = FloatFormat.positionalParts(x)
                return pad(p.int, to: padLeft) + "." + p.frac + String(repeating: " ", count: padRight - p.frac.count)
            }
        }

        private func pad(_ s: String, to width: Int) -> String {
            String(repeating: " ", count: max(0, width - s.utf8.count)) + s
        }

        /// Dragon4 positional, unique, fractional precision 8, trim '.': integer and fraction text.
        static func positionalParts(_ x: Double) -> (int: String, frac: String) {
            let sign = x.sign == .minus ? "-" : ""
            if x == 0 { return (sign + "0", "") }
            var (digits, decpt) = DecimalDigits.shortest(x)
            if digits.count - decpt > precision {
                let significant = decpt + precision
                if significant <= 0 {
                    // Rounds to zero or to one unit in the last place.
                    let (exactDigits, exactDecpt) = DecimalDigits.exact(x)
                    let half = significant == 0 && (exactDigits[0] > 5 || (exactDigits[0] == 5 && exactDigits.count > 1))
                    _ = exactDecpt
                    if half {
                        digits = [1]
                        decpt = -precision + 1
                    } else {
                        return (sign + "0", "")
                    }
                } else {
                    (digits, decpt) = DecimalDigits.rounded(x, significantDigits: significant)
                }
            }
            let text = digits.map { Character(Unicode.Scalar($0 + 48)) }
            var intPart = ""
            var fracPart = ""
            if decpt <= 0 {
                intPart = "0"
                fracPart = String(repeating: "0", count: -decpt) + String(text)
            } else if decpt >= text.count {
                intPart = String(text) + String(repeating: "0", count: decpt - text.count)
            } else {
                intPart = String(text[0..<decpt])
                fracPart = String(text[decpt...])
            }
            while fracPart.hasSuffix("0") { fracPart.removeLast() }
            return (sign + intPart, fracPart)
        }

        /// Dragon4 scientific, unique, precision 8, trim '.': integer digit, fraction, exponent sign and digits.
        static func scientificParts(
            _ x: Double, exactSignificantDigits: Int? = nil
        ) -> (int: String, frac: String, expSign: String, exp: String) {
            let sign = x.sign == .minus ? "-" : ""
            if x == 0 { return (sign + "0", "", "+", "00") }
            var (digits, decpt) = DecimalDigits.shortest(x)
            if let n = exactSignificantDigits {
                (digits, decpt) = DecimalDigits.rounded(x, significantDigits: n)
            } else if digits.count > precision + 1 {
                (digits, decpt) = DecimalDigits.rounded(x, significantDigits: precision + 1)
            }
            let text = String(digits.map { Character(Unicode.Scalar($0 + 48)) })
            var frac = String(text.dropFirst())
            while frac.hasSuffix("0") { frac.removeLast() }
            let e = decpt - 1
            let magnitude = String(abs(e))
            return (sign + String(text.prefix(1)), frac, e < 0 ? "-" : "+",
                    (magnitude.count < 2 ? "0" : "") + magnitude)
        }
    }
}
