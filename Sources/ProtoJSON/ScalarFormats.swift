import Foundation
import ProtoWire
import StrictJSON

/// The proto3 JSON forms of scalars: integers (numbers or strings), floats with
/// "NaN"/"Infinity", base64 bytes, and Go-compatible float printing (what grpcurl prints).
public enum ScalarFormats {
    // MARK: integers

    /// A signed integer from a JSON number or string; exponent and fraction forms are
    /// accepted when the value is integral ("1e3", "5.0").
    public static func signed(_ value: JSONValue, bits: Int) throws(CodecError) -> Int64 {
        let text = try integerText(value)
        let result: Int64
        if let v = Int64(text) ?? exactInteger(text).flatMap({ Int64($0) }) {
            result = v
        } else {
            throw CodecError(.invalidValue, "\(JSONPrinter().print(value)) is not a valid \(bits)-bit integer")
        }
        if bits == 32, result < Int64(Int32.min) || result > Int64(Int32.max) {
            throw CodecError(.outOfRange, "\(text) is out of range for a 32-bit integer")
        }
        return result
    }

    public static func unsigned(_ value: JSONValue, bits: Int) throws(CodecError) -> UInt64 {
        let text = try integerText(value)
        let result: UInt64
        if let v = UInt64(text) ?? exactInteger(text).flatMap({ UInt64($0) }) {
            result = v
        } else {
            throw CodecError(.invalidValue, "\(JSONPrinter().print(value)) is not a valid unsigned \(bits)-bit integer")
        }
        if bits == 32, result > UInt64(UInt32.max) {
            throw CodecError(.outOfRange, "\(text) is out of range for an unsigned 32-bit integer")
        }
        return result
    }

    /// The plain digits of a decimal written with a fraction or an exponent ("1.5e3" →
    /// "1500", "9.007199254740993e15" → "9007199254740993"), computed on the digits, not
    /// through Double, so 64-bit values keep full precision; nil when not integral.
    static func exactInteger(_ text: String) -> String? {
        var chars = Substring(text)
        var sign = ""
        if chars.first == "-" { sign = "-"; chars = chars.dropFirst() }
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(chars[chars.index(after: e)...]), abs(x) < 400 else { return nil }
            exponent = x
            chars = chars[..<e]
        }
        let parts = chars.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fraction.isEmpty else { return nil }
        let digits = Array(whole + fraction)
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let point = whole.count + exponent
        var integral: [Character]
        if point <= 0 {
            integral = ["0"]
            guard digits.allSatisfy({ $0 == "0" }) else { return nil }
        } else if point >= digits.count {
            integral = digits + Array(repeating: "0", count: point - digits.count)
        } else {
            guard digits[point...].allSatisfy({ $0 == "0" }) else { return nil }
            integral = Array(digits[..<point])
        }
        while integral.count > 1, integral.first == "0" { integral.removeFirst() }
        guard integral.count <= 20 else { return nil }
        return (integral == ["0"] ? "" : sign) + String(integral)
    }

    private static func integerText(_ value: JSONValue) throws(CodecError) -> String {
        switch value {
        case .number(let n): return n
        case .string(let s) where !s.isEmpty && s.trimmingCharacters(in: .whitespaces) == s: return s
        default: throw CodecError(.wrongType, "expected an integer (number or string), got \(value.kind) \(JSONPrinter().print(value))")
        }
    }

    // MARK: floats

    public static func double(_ value: JSONValue) throws(CodecError) -> Double {
        switch value {
        case .number(let n):
            guard let d = Double(n), d.isFinite else { throw CodecError(.outOfRange, "\(n) is out of range for a double") }
            return d
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let s):
            guard !s.isEmpty, s.trimmingCharacters(in: .whitespaces) == s, s.lowercased() != "nan",
                !s.lowercased().contains("inf"), let d = Double(s), d.isFinite
            else { throw CodecError(.invalidValue, "\(JSONPrinter.quote(s)) is not a valid number") }
            return d
        default:
            throw CodecError(.wrongType, "expected a number, got \(value.kind) \(JSONPrinter().print(value))")
        }
    }

    public static func float(_ value: JSONValue) throws(CodecError) -> Float {
        let d = try double(value)
        if d.isFinite, abs(d) > Double(Float.greatestFiniteMagnitude) {
            throw CodecError(.outOfRange, "\(JSONPrinter().print(value)) is out of range for a float")
        }
        return Float(d)
    }

    /// A double as proto3 JSON: a number, or the strings "NaN", "Infinity", "-Infinity".
    public static func json(_ d: Double) -> JSONValue {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d < 0 ? "-Infinity" : "Infinity") }
        return .number(goFormat(d.description, magnitude: abs(d)))
    }

    public static func json(_ f: Float) -> JSONValue {
        if f.isNaN { return .string("NaN") }
        if f.isInfinite { return .string(f < 0 ? "-Infinity" : "Infinity") }
        return .number(goFormat(f.description, magnitude: Double(abs(f))))
    }

    /// Re-renders Swift's shortest round-trip digits the way Go's encoding/json (and so
    /// grpcurl) prints floats: plain decimals, exponent form below 1e-6 and from 1e21.
    /// Works on the UTF-8 bytes (this runs once per float of every JSON response).
    public static func goFormat(_ swiftDescription: String, magnitude: Double) -> String {
        var text = swiftDescription
        return text.withUTF8 { utf8 in
            // Fast path, the common case: Swift wrote a plain decimal ("0.25", "42.0") and Go
            // would too; only a trailing ".0" differs.
            if magnitude >= 1e-6, magnitude < 1e21, !utf8.contains(UInt8(ascii: "e")) {
                if utf8.count >= 2, utf8[utf8.count - 2] == UInt8(ascii: "."), utf8[utf8.count - 1] == UInt8(ascii: "0") {
                    return String(decoding: utf8[..<(utf8.count - 2)], as: UTF8.self)
                }
                return String(decoding: utf8, as: UTF8.self)
            }
            return goFormatSlow(Array(utf8), magnitude: magnitude)
        }
    }

    private static func goFormatSlow(_ b: [UInt8], magnitude: Double) -> String {
        var i = 0
        var sign: [UInt8] = []
        if i < b.count, b[i] == UInt8(ascii: "-") { sign = [UInt8(ascii: "-")]; i += 1 }
        var mantissaEnd = b.count
        var exponent = 0
        if let e = b.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            var expText = b[(e + 1)...]
            if expText.first == UInt8(ascii: "+") { expText = expText.dropFirst() }
            exponent = Int(String(decoding: expText, as: UTF8.self)) ?? 0
            mantissaEnd = e
        }
        var digits: [UInt8] = []
        var point = 0
        var seenPoint = false
        for c in b[i..<mantissaEnd] {
            if c == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(c)
            if !seenPoint { point += 1 }
        }
        point += exponent
        while digits.first == UInt8(ascii: "0") { digits.removeFirst(); point -= 1 }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return String(decoding: sign, as: UTF8.self) + "0" }
        var out = sign
        if magnitude < 1e-6 || magnitude >= 1e21 {
            let e = point - 1
            out.append(digits[0])
            if digits.count > 1 { out.append(UInt8(ascii: ".")); out += digits[1...] }
            out += Array(("e" + (e < 0 ? "-" : "+") + (e >= 0 && e < 10 ? "0" : "") + String(abs(e))).utf8)
        } else if point <= 0 {
            out += Array("0.".utf8) + [UInt8](repeating: UInt8(ascii: "0"), count: -point) + digits
        } else if point >= digits.count {
            out += digits + [UInt8](repeating: UInt8(ascii: "0"), count: point - digits.count)
        } else {
            out += digits[..<point]
            out.append(UInt8(ascii: "."))
            out += digits[point...]
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: bytes

    /// Standard or URL-safe base64, padding optional (proto3 JSON accepts both).
    public static func bytes(_ value: JSONValue) throws(CodecError) -> [UInt8] {
        guard case .string(let s) = value else { throw CodecError(.wrongType, "expected a base64 string, got \(value.kind)") }
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t = t.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        guard let data = Data(base64Encoded: t) else { throw CodecError(.invalidValue, "\(JSONPrinter.quote(s)) is not valid base64") }
        return [UInt8](data)
    }

    public static func base64(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }
}
