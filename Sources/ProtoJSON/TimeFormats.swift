import ProtoWire
import StrictJSON

/// RFC 3339 timestamps and "1.5s" durations, the proto3 JSON forms of
/// google.protobuf.Timestamp and google.protobuf.Duration.
public enum TimeFormats {
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range.
    public static let minSeconds: Int64 = -62_135_596_800
    public static let maxSeconds: Int64 = 253_402_300_799
    public static let maxDurationSeconds: Int64 = 315_576_000_000

    public static func formatTimestamp(seconds: Int64, nanos: Int32) throws(CodecError) -> String {
        guard seconds >= minSeconds, seconds <= maxSeconds, nanos >= 0, nanos < 1_000_000_000 else {
            throw CodecError(.outOfRange, "timestamp (\(seconds)s, \(nanos)ns) is out of range")
        }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        out += pad(rest / 3600, 2) + ":" + pad(rest / 60 % 60, 2) + ":" + pad(rest % 60, 2)
        out += fraction(nanos)
        return out + "Z"
    }

    public static func parseTimestamp(_ text: String) throws(CodecError) -> (seconds: Int64, nanos: Int32) {
        let fail = CodecError(.invalidValue, "\(JSONPrinter.quote(text)) is not an RFC 3339 timestamp (e.g. \"2024-05-01T12:00:00Z\")")
        let c = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= c.count else { return nil }
            var v: Int64 = 0
            for b in c[from..<from + count] {
                guard (48...57).contains(b) else { return nil }
                v = v * 10 + Int64(b - 48)
            }
            return v
        }
        guard c.count >= 20, let y = num(0, 4), c[4] == 45, let mo = num(5, 2), c[7] == 45, let d = num(8, 2),
            c[10] == 84 || c[10] == 116, let h = num(11, 2), c[13] == 58, let mi = num(14, 2), c[16] == 58, let s = num(17, 2),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { throw fail }
        var i = 19
        var nanos: Int64 = 0
        if i < c.count, c[i] == 46 {
            i += 1
            let start = i
            while i < c.count, (48...57).contains(c[i]) { i += 1 }
            let digits = i - start
            guard digits >= 1, digits <= 9, let f = num(start, digits) else { throw fail }
            nanos = f
            for _ in digits..<9 { nanos *= 10 }
        }
        guard i < c.count else { throw fail }
        var offset: Int64 = 0
        if c[i] == 90 || c[i] == 122 {
            i += 1
        } else if c[i] == 43 || c[i] == 45, let oh = num(i + 1, 2), i + 3 < c.count, c[i + 3] == 58, let om = num(i + 4, 2) {
            offset = (oh * 60 + om) * 60 * (c[i] == 43 ? 1 : -1)
            i += 6
        } else {
            throw fail
        }
        guard i == c.count else { throw fail }
        let seconds = days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset
        guard seconds >= minSeconds, seconds <= maxSeconds else { throw CodecError(.outOfRange, "timestamp \(JSONPrinter.quote(text)) is out of range") }
        return (seconds, Int32(nanos))
    }

    public static func formatDuration(seconds: Int64, nanos: Int32) throws(CodecError) -> String {
        guard abs(seconds) <= maxDurationSeconds, abs(nanos) < 1_000_000_000,
            seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0)
        else { throw CodecError(.outOfRange, "duration (\(seconds)s, \(nanos)ns) is out of range") }
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + String(abs(seconds)) + fraction(abs(nanos)) + "s"
    }

    public static func parseDuration(_ text: String) throws(CodecError) -> (seconds: Int64, nanos: Int32) {
        let fail = CodecError(.invalidValue, "\(JSONPrinter.quote(text)) is not a duration (e.g. \"1.5s\")")
        guard text.hasSuffix("s") else { throw fail }
        var body = Substring(text.dropLast())
        var negative = false
        if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber),
            let seconds = Int64(whole)
        else { throw fail }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 9, frac.allSatisfy(\.isASCII), frac.allSatisfy(\.isNumber), let f = Int64(frac) else { throw fail }
            nanos = f
            for _ in frac.count..<9 { nanos *= 10 }
        }
        guard seconds <= maxDurationSeconds else { throw CodecError(.outOfRange, "duration \(JSONPrinter.quote(text)) is out of range") }
        return negative ? (-seconds, Int32(-nanos)) : (seconds, Int32(nanos))
    }

    /// ".5" → ".500": 0, 3, 6 or 9 fractional digits, as protobuf's JSON printers write them.
    private static func fraction(_ nanos: Int32) -> String {
        guard nanos != 0 else { return "" }
        if nanos % 1_000_000 == 0 { return "." + pad(Int64(nanos / 1_000_000), 3) }
        if nanos % 1_000 == 0 { return "." + pad(Int64(nanos / 1_000), 6) }
        return "." + pad(Int64(nanos), 9)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Howard Hinnant's days_from_civil / civil_from_days.
    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
