/// A JSON value that keeps integers apart from floats and object keys in order.
enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func == (l: JSON, r: JSON) -> Bool {
        switch (l, r) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    var intValue: Int? {
        switch self {
        case .int(let i): return Int(i)
        case .double(let d) where d == d.rounded(): return Int(d)
        default: return nil
        }
    }
    var keys: [String] { if case .object(let p) = self { return p.map(\.0) }; return [] }

    /// Compact JSON text (for messages).
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return JSON.quote(s)
        case .array(let a): return "[" + a.map(\.text).joined(separator: ", ") + "]"
        case .object(let p): return "{" + p.map { JSON.quote($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let h = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

struct JSONParseError: Error, CustomStringConvertible {
    var message: String
    var offset: Int
    var description: String { "JSON parse error at \(offset): \(message)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
struct JSONParser {
    private let bytes: [UInt8]
    private var i = 0

    static func parse(_ text: String) throws -> JSON {
        var p = JSONParser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        if p.i != p.bytes.count { throw JSONParseError(message: "trailing data", offset: p.i) }
        return v
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func value() throws -> JSON {
        guard i < bytes.count else { throw JSONParseError(message: "unexpected end", offset: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(String, JSON)] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                let k = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                pairs.append((k, try value()))
                skipSpace()
                if try consumeCommaOr(UInt8(ascii: "}")) { continue }
                return .object(pairs)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                if try consumeCommaOr(UInt8(ascii: "]")) { continue }
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            return try number()
        }
    }

    private mutating func consumeCommaOr(_ close: UInt8) throws -> Bool {
        guard i < bytes.count else { throw JSONParseError(message: "unexpected end", offset: i) }
        if bytes[i] == UInt8(ascii: ",") { i += 1; return true }
        if bytes[i] == close { i += 1; return false }
        throw JSONParseError(message: "expected , or closing bracket", offset: i)
    }

    private mutating func expect(_ b: UInt8) throws {
        guard i < bytes.count, bytes[i] == b else { throw JSONParseError(message: "expected \(Character(Unicode.Scalar(b)))", offset: i) }
        i += 1
    }

    private mutating func literal(_ word: String) throws {
        for b in word.utf8 { try expect(b) }
    }

    private mutating func number() throws -> JSON {
        let start = i
        var isFloat = false
        while i < bytes.count {
            let c = bytes[i]
            if (c >= 48 && c <= 57) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                i += 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                isFloat = true
                i += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if text == "NaN" || text.isEmpty { throw JSONParseError(message: "bad number", offset: start) }
        if !isFloat, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw JSONParseError(message: "bad number \(text)", offset: start) }
        return .double(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw JSONParseError(message: "bad \\u escape", offset: i)
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw JSONParseError(message: "unterminated string", offset: i) }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < bytes.count else { throw JSONParseError(message: "bad escape", offset: i) }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    if lo >= 0xDC00 && lo < 0xE000 {
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        throw JSONParseError(message: "unpaired surrogate", offset: i)
                    }
                }
                guard let scalar = Unicode.Scalar(v) else { throw JSONParseError(message: "invalid code point", offset: i) }
                out.append(contentsOf: Array(String(scalar).utf8))
            default:
                throw JSONParseError(message: "bad escape", offset: i)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
