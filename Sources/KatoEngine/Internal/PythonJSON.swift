/// Python `json.dumps` (default `ensure_ascii=True`, separators `", "` / `": "`) for lists of lists of strings.
/// Used to order `future_potentials` ties by the JSON text of their futures.
enum PythonJSON {
    /// UTF-8 (all ASCII) bytes of ``dumps(_:)``; plain printable-ASCII symbols are copied without re-encoding.
    static func dumpsUTF8(_ events: [[String]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, e) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
            out.append(UInt8(ascii: "["))
            for (j, s) in e.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
                if PythonRepr.isPlainASCII(s) {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: s.utf8)
                    out.append(UInt8(ascii: "\""))
                } else {
                    out.append(contentsOf: string(s).utf8)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func dumps(_ events: [[String]]) -> String {
        var out = "["
        for (i, e) in events.enumerated() {
            if i > 0 { out += ", " }
            out += "["
            for (j, s) in e.enumerated() {
                if j > 0 { out += ", " }
                out += string(s)
            }
            out += "]"
        }
        return out + "]"
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                let v = scalar.value
                if v < 0x20 || v > 0x7E {
                    if v > 0xFFFF {
                        let u = v - 0x10000
                        out += hex4(0xD800 + (u >> 10)) + hex4(0xDC00 + (u & 0x3FF))
                    } else {
                        out += hex4(v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - h.count) + h
    }
}
