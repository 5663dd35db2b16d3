/// Prints JSON as grpcurl does: objects indented by two spaces, `"key": value`, members in
/// the order given; or compact on one line.
struct JSONPrinter {
    var indent = "  "
    var compact = false

    func print(_ value: JSONValue) -> String {
        var out = ""
        write(value, level: 0, into: &out)
        return out
    }

    private func write(_ value: JSONValue, level: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): Self.quote(s, into: &out)
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            out += "["
            for (i, e) in elements.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1, into: &out)
                write(e, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1, into: &out)
                Self.quote(k, into: &out)
                out += compact ? ":" : ": "
                write(v, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out += "}"
        }
    }

    private func newline(_ level: Int, into out: inout String) {
        guard !compact else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func quote(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }
}
