/// The `grpc-timeout` header: at most 8 ASCII digits followed by a unit
/// (`H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
public enum GRPCTimeout {
    /// Parses a header value into a duration; nil when the value is malformed.
    public static func parse(_ value: String) -> Duration? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 2, utf8.count <= 9 else { return nil }
        var amount: Int64 = 0
        for c in utf8.dropLast() {
            guard c >= 0x30, c <= 0x39 else { return nil }
            amount = amount * 10 + Int64(c - 0x30)
        }
        switch utf8.last! {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// Formats a duration as a header value, choosing the finest unit that fits 8 digits.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return "1n" }
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let totalNanos = nanos.overflow ? Int64.max : nanos.partialValue &+ attoseconds / 1_000_000_000
        let units: [(Int64, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (scale, unit) in units {
            let value = (totalNanos + scale - 1) / scale  // round up: never shorten a deadline
            if value <= 99_999_999 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }
}
