/// Decimal digit generation for doubles: shortest round-trip digits and exact expansions.
///
/// Digits are returned as values 0…9 with `decpt`, the position of the decimal point:
/// value = 0.d₁d₂… × 10^decpt. Both functions take finite, non-zero magnitudes (the sign is ignored).
enum DecimalDigits {
    /// Shortest digits that round-trip (the same digits Python's `repr` and numpy's Dragon4
    /// "unique" mode produce), read from Swift's own shortest-representation printer.
    static func shortest(_ x: Double) -> (digits: [UInt8], decpt: Int) {
        let text = Array(abs(x).description.utf8)
        var mantissa: [UInt8] = []
        var pointIndex: Int? = nil
        var exponent = 0
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: ".") {
                pointIndex = mantissa.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(i + 1)...], as: UTF8.self))!
                break
            } else {
                mantissa.append(c - 48)
            }
            i += 1
        }
        var decpt = (pointIndex ?? mantissa.count) + exponent
        var start = 0
        while start < mantissa.count - 1 && mantissa[start] == 0 {
            start += 1
            decpt -= 1
        }
        var digits = Array(mantissa[start...])
        while digits.count > 1 && digits.last == 0 { digits.removeLast() }
        return (digits, decpt)
    }

    /// The exact decimal expansion of |x| (every double is a finite decimal), trailing zeros removed.
    static func exact(_ x: Double) -> (digits: [UInt8], decpt: Int) {
        let v = abs(x)
        var significand = v.significandBitPattern
        var exp2 = Int(v.exponentBitPattern)
        if exp2 == 0 {
            exp2 = 1 - 1075
        } else {
            significand |= (1 << 52)
            exp2 -= 1075
        }
        // value = significand × 2^exp2
        var big = BigDecimalInt(significand)
        var decpt: Int
        if exp2 >= 0 {
            big.multiplyByPowerOfTwo(exp2)
            let d = big.decimalDigits()
            decpt = d.count
            return (trimmed(d), decpt)
        } else {
            // significand × 2^exp2 = significand × 5^(-exp2) / 10^(-exp2)
            big.multiplyByPowerOfFive(-exp2)
            let d = big.decimalDigits()
            decpt = d.count + exp2
            return (trimmed(d), decpt)
        }
    }

    /// Rounds |x| to `count` significant digits (count ≥ 1) from its exact expansion, ties to the even
    /// digit (Dragon4's cutoff rounding). Returns trimmed digits; `decpt` may grow by one on carry.
    static func rounded(_ x: Double, significantDigits count: Int) -> (digits: [UInt8], decpt: Int) {
        let (digits, decpt) = exact(x)
        if digits.count <= count { return (digits, decpt) }
        var kept = Array(digits[0..<count])
        let next = digits[count]
        let restNonZero = digits.count > count + 1  // trimmed, so any further digit means non-zero
        let roundUp: Bool
        if next > 5 || (next == 5 && restNonZero) {
            roundUp = true
        } else if next == 5 {
            roundUp = (kept[count - 1] & 1) == 1
        } else {
            roundUp = false
        }
        var newDecpt = decpt
        if roundUp {
            var i = count - 1
            while true {
                if kept[i] == 9 {
                    kept[i] = 0
                    if i == 0 {
                        kept.insert(1, at: 0)
                        kept.removeLast()
                        newDecpt += 1
                        break
                    }
                    i -= 1
                } else {
                    kept[i] += 1
                    break
                }
            }
        }
        return (trimmed(kept), newDecpt)
    }

    private static func trimmed(_ d: [UInt8]) -> [UInt8] {
        var d = d
        while d.count > 1 && d.last == 0 { d.removeLast() }
        return d
    }
}

/// A minimal unsigned big integer in base 10⁹ (little-endian limbs) for exact decimal expansion.
struct BigDecimalInt {
    private var limbs: [UInt64]
    private static let base: UInt64 = 1_000_000_000

    init(_ value: UInt64) {
        limbs = []
        var v = value
        repeat {
            limbs.append(v % Self.base)
            v /= Self.base
        } while v > 0
    }

    mutating func multiply(by factor: UInt64) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = limbs[i] * factor + carry
            limbs[i] = p % Self.base
            carry = p / Self.base
        }
        while carry > 0 {
            limbs.append(carry % Self.base)
            carry /= Self.base
        }
    }

    mutating func multiplyByPowerOfTwo(_ n: Int) {
        var n = n
        while n >= 29 { multiply(by: 1 << 29); n -= 29 }
        if n > 0 { multiply(by: 1 << UInt64(n)) }
    }

    mutating func multiplyByPowerOfFive(_ n: Int) {
        var n = n
        while n >= 12 { multiply(by: 244_140_625); n -= 12 }  // 5^12
        var f: UInt64 = 1
        for _ in 0..<n { f *= 5 }
        if f > 1 { multiply(by: f) }
    }

    func decimalDigits() -> [UInt8] {
        var out: [UInt8] = []
        var first = true
        for limb in limbs.reversed() {
            var chunk = [UInt8](repeating: 0, count: 9)
            var v = limb
            for k in stride(from: 8, through: 0, by: -1) {
                chunk[k] = UInt8(v % 10)
                v /= 10
            }
            if first {
                let nz = chunk.firstIndex { $0 != 0 } ?? 8
                out.append(contentsOf: chunk[nz...])
                first = false
            } else {
                out.append(contentsOf: chunk)
            }
        }
        return out
    }
}
