import ProtoJSON
import ProtoWire
import StrictJSON

/// The protobuf text format (`kato call --format text`), for requests and responses.

/// The input is not valid text format for the message type.
struct TextFormatError: Error, CustomStringConvertible {
    let message: String
    let line: Int
    var description: String { "invalid text format at line \(line): \(message)" }
}

/// Text format → wire bytes.
struct TextToProto {
    let pool: DescriptorPool

    func encode(_ text: String, as typeName: String) throws -> [UInt8] {
        var tokens = TextTokenizer(Array(text.utf8))
        let bytes = try encodeMessage(&tokens, try pool.message(typeName), until: nil)
        return bytes
    }

    private func encodeMessage(_ t: inout TextTokenizer, _ message: MessageDescriptor, until close: UInt8?) throws -> [UInt8] {
        var writer = WireWriter()
        let json = JSONToProto(pool: pool)
        while true {
            guard let token = try t.next() else {
                if close != nil { throw t.error("unexpected end of input, expected '\(Character(Unicode.Scalar(close!)))'") }
                return writer.bytes
            }
            if case .punct(let p) = token, p == close { return writer.bytes }
            if case .punct(let p) = token, p == UInt8(ascii: ";") || p == UInt8(ascii: ",") { continue }
            guard case .identifier(let name) = token else { throw t.error("expected a field name, got \(token)") }
            guard let field = message.fields.first(where: { $0.name == name })
                ?? message.fields.first(where: { $0.type == .group && $0.typeName.hasSuffix("." + name) })
            else { throw t.error("message type \(message.fullName) has no known field named \(name)") }
            let isMessage = field.type == .message || field.type == .group
            var hasColon = false
            if case .punct(UInt8(ascii: ":"))? = try t.peek() {
                _ = try t.next()
                hasColon = true
            }
            if !hasColon && !isMessage { throw t.error("expected ':' after field \(name)") }
            if case .punct(UInt8(ascii: "["))? = try t.peek() {
                _ = try t.next()
                guard field.isRepeated else { throw t.error("field \(name) is not repeated") }
                if case .punct(UInt8(ascii: "]"))? = try t.peek() { _ = try t.next(); continue }
                while true {
                    try encodeValue(&t, field, json: json, into: &writer)
                    guard let sep = try t.next(), case .punct(let p) = sep else { throw t.error("expected ',' or ']'") }
                    if p == UInt8(ascii: "]") { break }
                    guard p == UInt8(ascii: ",") else { throw t.error("expected ',' or ']'") }
                }
            } else {
                try encodeValue(&t, field, json: json, into: &writer)
            }
        }
    }

    private func encodeValue(_ t: inout TextTokenizer, _ field: FieldDescriptor, json: JSONToProto, into writer: inout WireWriter) throws {
        if field.type == .message || field.type == .group {
            guard let open = try t.next(), case .punct(let p) = open, p == UInt8(ascii: "{") || p == UInt8(ascii: "<") else {
                throw t.error("expected '{' or '<' for message field \(field.name)")
            }
            let inner = try encodeMessage(&t, try pool.message(field.typeName), until: p == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: ">"))
            if field.type == .group {
                writer.tag(field.number, .startGroup)
                writer.append(inner)
                writer.tag(field.number, .endGroup)
            } else {
                writer.tag(field.number, .lengthDelimited)
                writer.lengthDelimited(inner)
            }
            return
        }
        guard let token = try t.next() else { throw t.error("expected a value for \(field.name)") }
        let value: JSONValue
        switch (field.type, token) {
        case (.string, .string(let b)):
            guard let s = String(validating: b, as: UTF8.self) else { throw t.error("string field \(field.name) is not valid UTF-8") }
            value = .string(s)
        case (.bytes, .string(let b)): value = .string(ScalarFormats.base64(b))
        case (.bool, .identifier(let id)):
            guard ["true", "True", "t", "false", "False", "f"].contains(id) else { throw t.error("invalid bool \(id) for \(field.name)") }
            value = .bool(id.hasPrefix("t") || id.hasPrefix("T"))
        case (.bool, .number(let n)):
            guard n == "0" || n == "1" else { throw t.error("invalid bool \(n) for \(field.name)") }
            value = .bool(n == "1")
        case (.enumeration, .identifier(let id)): value = .string(id)
        case (.float, .identifier(let id)), (.double, .identifier(let id)):
            switch id.lowercased() {
            case "inf", "infinity": value = .string("Infinity")
            case "-inf", "-infinity": value = .string("-Infinity")
            case "nan": value = .string("NaN")
            default: throw t.error("invalid number \(id) for \(field.name)")
            }
        case (_, .number(let n)):
            value = .number(try Self.decimal(n, float: field.type == .float || field.type == .double, t))
        default:
            throw t.error("invalid value \(token) for \(field.type.keyword) field \(field.name)")
        }
        do {
            try json.writeValue(field, value, into: &writer, path: FieldPath().appending(field: field.name))
        } catch let error as CodecError {
            throw t.error(error.message)
        }
    }

    /// Text-format numbers (hex, octal, `f` suffix) as JSON number text.
    private static func decimal(_ n: String, float: Bool, _ t: TextTokenizer) throws -> String {
        var s = n
        var negative = false
        if s.hasPrefix("-") { negative = true; s.removeFirst() }
        if float, s.hasSuffix("f") || s.hasSuffix("F") { s.removeLast() }
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            guard let v = UInt64(s.dropFirst(2), radix: 16) else { throw t.error("invalid number \(n)") }
            return (negative ? "-" : "") + String(v)
        }
        if s.count > 1, s.hasPrefix("0"), !s.contains("."), !s.contains("e"), !s.contains("E") {
            guard let v = UInt64(s.dropFirst(), radix: 8) else { throw t.error("invalid number \(n)") }
            return (negative ? "-" : "") + String(v)
        }
        if s.hasPrefix(".") { s = "0" + s }
        if s.hasSuffix(".") { s += "0" }
        return (negative ? "-" : "") + s
    }
}

/// Tokens of the text format.
struct TextTokenizer {
    enum Token: CustomStringConvertible {
        case identifier(String)
        case number(String)
        case string([UInt8])
        case punct(UInt8)

        var description: String {
            switch self {
            case .identifier(let s), .number(let s): "'\(s)'"
            case .string: "a string"
            case .punct(let p): "'\(Character(Unicode.Scalar(p)))'"
            }
        }
    }

    private let bytes: [UInt8]
    private var index = 0
    private var peeked: Token?

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> TextFormatError {
        TextFormatError(message: message, line: 1 + bytes[..<min(index, bytes.count)].filter { $0 == 0x0A }.count)
    }

    mutating func peek() throws -> Token? {
        if peeked == nil { peeked = try read() }
        return peeked
    }

    mutating func next() throws -> Token? {
        if let p = peeked {
            peeked = nil
            return p
        }
        return try read()
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "#") {
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            } else if [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains(bytes[index]) {
                index += 1
            } else {
                return
            }
        }
    }

    private static func isIdent(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
    }

    private mutating func read() throws -> Token? {
        skipSpace()
        guard index < bytes.count else { return nil }
        let b = bytes[index]
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            var out: [UInt8] = []
            // Adjacent strings concatenate.
            while index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                out += try quoted()
                skipSpace()
            }
            return .string(out)
        }
        let isDigit = b >= 0x30 && b <= 0x39
        let startsNumber = isDigit || ((b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) && index + 1 < bytes.count
            && (bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x39 || bytes[index + 1] == UInt8(ascii: ".")))
        if startsNumber {
            let start = index
            index += 1
            while index < bytes.count, Self.isIdent(bytes[index]) || ((bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+"))
                && (bytes[index - 1] == UInt8(ascii: "e") || bytes[index - 1] == UInt8(ascii: "E")) && !(bytes[start...].starts(with: Array("0x".utf8)))) {
                index += 1
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        if b == UInt8(ascii: "-"), index + 1 < bytes.count, Self.isIdent(bytes[index + 1]) {
            let start = index
            index += 1
            while index < bytes.count, Self.isIdent(bytes[index]) { index += 1 }
            return .identifier(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        if Self.isIdent(b) {
            let start = index
            while index < bytes.count, Self.isIdent(bytes[index]) { index += 1 }
            return .identifier(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        index += 1
        guard Array("{}<>[]:;,".utf8).contains(b) else { throw error("unexpected character '\(Character(Unicode.Scalar(b)))'") }
        return .punct(b)
    }

    private mutating func quoted() throws -> [UInt8] {
        let quote = bytes[index]
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count, bytes[index] != 0x0A else { throw error("unterminated string") }
            let c = bytes[index]
            index += 1
            if c == quote { return out }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard index < bytes.count else { throw error("unterminated string") }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                var v = 0, n = 0
                while n < 2, index < bytes.count, let d = Int(String(Character(Unicode.Scalar(bytes[index]))), radix: 16) {
                    v = v * 16 + d; n += 1; index += 1
                }
                guard n > 0 else { throw error("invalid \\x escape") }
                out.append(UInt8(v))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - 0x30), n = 1
                while n < 3, index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x37 {
                    v = v * 8 + Int(bytes[index] - 0x30); n += 1; index += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = e == UInt8(ascii: "u") ? 4 : 8
                guard index + count <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(v)
                else { throw error("invalid unicode escape") }
                index += count
                out += Array(String(Character(scalar)).utf8)
            default: out.append(e)
            }
        }
    }
}

/// Wire bytes → text format (fields in number order, nested messages in braces).
struct ProtoToText {
    let pool: DescriptorPool

    func decode(_ bytes: [UInt8], as typeName: String) throws -> String {
        var out = ""
        try write(bytes[...], try pool.message(typeName), level: 0, into: &out)
        return out
    }

    private func write(_ bytes: ArraySlice<UInt8>, _ message: MessageDescriptor, level: Int, into out: inout String) throws {
        var values: [Int: [WireValue]] = [:]
        var reader = WireReader(bytes)
        while let (n, v) = try reader.next() { values[n, default: []].append(v) }
        let pad = String(repeating: "  ", count: level)
        let json = ProtoToJSON(pool: pool)
        for field in message.fields.sorted(by: { $0.number < $1.number }) {
            guard var wire = values[field.number], !wire.isEmpty else { continue }
            if field.type == .message || field.type == .group {
                if !field.isRepeated {
                    let joined = wire.flatMap { v -> [UInt8] in
                        switch v {
                        case .bytes(let b), .group(let b): Array(b)
                        default: []
                        }
                    }
                    wire = [.bytes(joined[...])]
                }
                let m = try pool.message(field.typeName)
                for v in wire {
                    guard case .bytes(let b) = v else { if case .group(let g) = v { out += pad + field.name + " {\n"; try write(g, m, level: level + 1, into: &out); out += pad + "}\n" }; continue }
                    out += pad + field.name + " {\n"
                    try write(b, m, level: level + 1, into: &out)
                    out += pad + "}\n"
                }
                continue
            }
            var scalars: [WireValue] = []
            for v in wire {
                if field.type.isPackable, case .bytes(let packed) = v {
                    var r = WireReader(packed)
                    while !r.isAtEnd {
                        switch field.type.wireType {
                        case .fixed32: scalars.append(.fixed32(UInt32(try r.fixed(4))))
                        case .fixed64: scalars.append(.fixed64(try r.fixed(8)))
                        default: scalars.append(.varint(try r.varint()))
                        }
                    }
                } else {
                    scalars.append(v)
                }
            }
            if !field.isRepeated, let last = scalars.last { scalars = [last] }
            for v in scalars {
                out += pad + field.name + ": " + (try scalarText(field, v, json: json)) + "\n"
            }
        }
    }

    private func scalarText(_ field: FieldDescriptor, _ v: WireValue, json: ProtoToJSON) throws -> String {
        switch (field.type, v) {
        case (.string, .bytes(let b)), (.bytes, .bytes(let b)): return Self.quote(b)
        case (.enumeration, .varint(let n)):
            let number = Int32(truncatingIfNeeded: n)
            return (try? pool.enumeration(field.typeName))?.value(number: number)?.name ?? String(number)
        case (.double, .fixed64(let bits)):
            let d = Double(bitPattern: bits)
            return d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : ScalarFormats.goFormat(d.description, magnitude: abs(d))
        case (.float, .fixed32(let bits)):
            let f = Float(bitPattern: bits)
            return f.isNaN ? "nan" : f.isInfinite ? (f < 0 ? "-inf" : "inf") : ScalarFormats.goFormat(f.description, magnitude: Double(abs(f)))
        default:
            switch try json.scalar(field, v, path: FieldPath()) {
            case .string(let s), .number(let s): return s
            case .bool(let b): return b ? "true" : "false"
            default: return ""
            }
        }
    }

    /// C-style escaping: printable ASCII as is, UTF-8 kept for valid text, octal otherwise.
    static func quote(_ bytes: ArraySlice<UInt8>) -> String {
        var out = "\""
        func escape(_ b: UInt8) {
            switch b {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "'"): out += "\\'"
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let o = String(b, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - o.count) + o
            }
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            for scalar in text.unicodeScalars {
                if scalar.value >= 0x80 { out.unicodeScalars.append(scalar) } else { escape(UInt8(scalar.value)) }
            }
        } else {
            for b in bytes { escape(b) }
        }
        return out + "\""
    }
}
