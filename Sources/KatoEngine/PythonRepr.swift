/// Python 3.11 `repr()` of the values that feed KATO's names and metadata.
public enum PythonRepr {
    /// Python `repr(str)`: quote choice, `\\`/quote/`\t`/`\n`/`\r` escapes, and `\xhh`/`\uhhhh`/`\Uhhhhhhhh`
    /// escapes for non-printable code points (categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs except U+0020;
    /// "unassigned" as of Unicode 14.0, the database of Python 3.11).
    public static func string(_ s: String) -> String {
        let hasSingle = s.unicodeScalars.contains("'")
        let hasDouble = s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = (hasSingle && !hasDouble) ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for ch in s.unicodeScalars {
            switch ch {
            case quote, "\\":
                out.append("\\"); out.append(ch)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if ch.value < 0x20 || ch.value == 0x7F {
                    out.append(contentsOf: hexEscape(ch.value).unicodeScalars)
                } else if ch.value < 0x7F {
                    out.append(ch)
                } else if isPrintable(ch) {
                    out.append(ch)
                } else {
                    out.append(contentsOf: hexEscape(ch.value).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// UTF-8 bytes of ``events(_:)``, built without intermediate strings (plain symbols are copied as is).
    static func eventsUTF8(_ events: [[String]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(64)
        for (i, event) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
            out.append(UInt8(ascii: "["))
            for (j, symbol) in event.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
                if isPlainASCII(symbol) {
                    out.append(UInt8(ascii: "'"))
                    out.append(contentsOf: symbol.utf8)
                    out.append(UInt8(ascii: "'"))
                } else {
                    out.append(contentsOf: string(symbol).utf8)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// Printable ASCII without quotes or backslashes: its repr is the text in single quotes.
    @inline(__always)
    static func isPlainASCII(_ s: String) -> Bool {
        for b in s.utf8 where b < 0x20 || b > 0x7E || b == 0x27 || b == 0x22 || b == 0x5C { return false }
        return true
    }

    /// Python `repr` of a list of lists of strings: `[['a', 'b'], ['c']]`.
    public static func events(_ events: [[String]]) -> String {
        var out = "["
        for (i, event) in events.enumerated() {
            if i > 0 { out += ", " }
            out += "["
            for (j, symbol) in event.enumerated() {
                if j > 0 { out += ", " }
                out += string(symbol)
            }
            out += "]"
        }
        return out + "]"
    }

    /// Python `repr(float)`: shortest round-trip digits, fixed notation for decimal exponents
    /// −4 ≤ e < 16, otherwise `d.ddde±XX`.
    public static func float(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        let sign = x.sign == .minus ? "-" : ""
        if x == 0 { return sign + "0.0" }
        let (digits, decpt) = DecimalDigits.shortest(x)
        let d = String(decoding: digits.map { $0 + 48 }, as: UTF8.self)
        if decpt <= -4 || decpt > 16 {
            let exp = decpt - 1
            var mant = String(d.prefix(1))
            if digits.count > 1 { mant += "." + d.dropFirst() }
            let e = abs(exp)
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
        }
        if decpt <= 0 {
            return sign + "0." + String(repeating: "0", count: -decpt) + d
        }
        if decpt >= digits.count {
            return sign + d + String(repeating: "0", count: decpt - digits.count) + ".0"
        }
        return sign + d.prefix(decpt) + "." + d.dropFirst(decpt)
    }

    static func hexEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        if v < 0x100 { return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
        if v < 0x10000 { return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
        return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Python 3.11's `str.isprintable` for one code point (Unicode 14.0 database).
    static func isPrintable(_ ch: Unicode.Scalar) -> Bool {
        if ch == " " { return true }
        let props = ch.properties
        guard let age = props.age else { return false }
        if age.major > 14 { return false }
        switch props.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
