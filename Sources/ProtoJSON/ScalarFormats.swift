import Foundation

/// The proto3 JSON forms of scalars: integers (numbers or strings), floats with
/// "NaN"/"Infinity", base64 bytes, and Go-compatible float printing (what grpcurl prints).
enum ScalarFormats {
    // MARK: integers

    /// A signed integer from a JSON number or string; exponent and fraction forms are
    /// accepted when the value is integral ("1e3", "5.0").
    static func signed(_ value: JSONValue, bits: Int) throws(CodecError) -> Int64 {
        let text = try integerText(value)
        let result: Int64
        if let v = Int64(text) {
            result = v
        } else if let d = Double(text), d.isFinite, d.rounded() == d, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 {
            result = Int64(d)
        } else {
            throw CodecError("\(JSONPrinter().print(value)) is not a valid \(bits)-bit integer")
        }
        if bits == 32, result < Int64(Int32.min) || result > Int64(Int32.max) {
            throw CodecError("\(text) is out of range for a 32-bit integer")
        }
        return result
    }

    static func unsigned(_ value: JSONValue, bits: Int) throws(CodecError) -> UInt64 {
        let text = try integerText(value)
        let result: UInt64
        if let v = UInt64(text) {
            result = v
        } else if let d = Double(text), d.isFinite, d.rounded() == d, d >= 0, d < 1.8446744073709551616e19 {
            result = UInt64(d)
        } else {
            throw CodecError("\(JSONPrinter().print(value)) is not a valid unsigned \(bits)-bit integer")
        }
        if bits == 32, result > UInt64(UInt32.max) {
            throw CodecError("\(text) is out of range for an unsigned 32-bit integer")
        }
        return result
    }

    private static func integerText(_ value: JSONValue) throws(CodecError) -> String {
        switch value {
        case .number(let n): return n
        case .string(let s) where !s.isEmpty && s.trimmingCharacters(in: .whitespaces) == s: return s
        default: throw CodecError("expected an integer (number or string), got \(value.kind) \(JSONPrinter().print(value))")
        }
    }

    // MARK: floats

    static func double(_ value: JSONValue) throws(CodecError) -> Double {
        switch value {
        case .number(let n):
            guard let d = Double(n), d.isFinite else { throw CodecError("\(n) is out of range for a double") }
            return d
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let s):
            guard !s.isEmpty, s.trimmingCharacters(in: .whitespaces) == s, s.lowercased() != "nan",
                !s.lowercased().contains("inf"), let d = Double(s), d.isFinite
            else { throw CodecError("\(JSONPrinter.quote(s)) is not a valid number") }
            return d
        default:
            throw CodecError("expected a number, got \(value.kind) \(JSONPrinter().print(value))")
        }
    }

    static func float(_ value: JSONValue) throws(CodecError) -> Float {
        let d = try double(value)
        if d.isFinite, abs(d) > Double(Float.greatestFiniteMagnitude) {
            throw CodecError("\(JSONPrinter().print(value)) is out of range for a float")
        }
        return Float(d)
    }

    /// A double as proto3 JSON: a number, or the strings "NaN", "Infinity", "-Infinity".
    static func json(_ d: Double) -> JSONValue {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d < 0 ? "-Infinity" : "Infinity") }
        return .number(goFormat(d.description, magnitude: abs(d)))
    }

    static func json(_ f: Float) -> JSONValue {
        if f.isNaN { return .string("NaN") }
        if f.isInfinite { return .string(f < 0 ? "-Infinity" : "Infinity") }
        return .number(goFormat(f.description, magnitude: Double(abs(f))))
    }

    /// Re-renders Swift's shortest round-trip digits the way Go's encoding/json (and so
    /// grpcurl) prints floats: plain decimals, exponent form below 1e-6 and from 1e21.
    static func goFormat(_ swiftDescription: String, magnitude: Double) -> String {
        var s = Substring(swiftDescription)
        var sign = ""
        if s.hasPrefix("-") { sign = "-"; s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(s[s.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
            s = s[..<e]
        }
        var digits = s.replacingOccurrences(of: ".", with: "")
        var point = (s.firstIndex(of: ".").map { s.distance(from: s.startIndex, to: $0) } ?? s.count) + exponent
        while digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.isEmpty { return sign + "0" }
        if magnitude < 1e-6 || magnitude >= 1e21 {
            let e = point - 1
            var out = sign + String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            let absE = abs(e)
            out += "e" + (e < 0 ? "-" : "+") + (e >= 0 && absE < 10 ? "0" : "") + String(absE)
            return out
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        let i = digits.index(digits.startIndex, offsetBy: point)
        return sign + digits[..<i] + "." + digits[i...]
    }

    // MARK: bytes

    /// Standard or URL-safe base64, padding optional (proto3 JSON accepts both).
    static func bytes(_ value: JSONValue) throws(CodecError) -> [UInt8] {
        guard case .string(let s) = value else { throw CodecError("expected a base64 string, got \(value.kind)") }
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t = t.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        guard let data = Data(base64Encoded: t) else { throw CodecError("\(JSONPrinter.quote(s)) is not valid base64") }
        return [UInt8](data)
    }

    static func base64(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }
}
