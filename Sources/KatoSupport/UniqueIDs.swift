#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Ids that must not repeat within the process and should look random — trace ids, span ids,
/// observation ids — made without a system call each (two `getrandom` calls per id showed up
/// per call): SplitMix64 over a per-process random seed and one atomic counter. SplitMix64 is a
/// bijection, so ids never repeat within a process; across processes they are as unlikely to
/// collide as random bits. Not secret (W3C asks trace ids to be random, not unguessable).
package enum UniqueIDs {
    static let seed: (UInt64, UInt64, UInt64) = {
        var rng = SystemRandomNumberGenerator()
        return (rng.next(), rng.next(), rng.next())
    }()
    static let counter = Atomic<UInt64>(0)

    /// 128 bits as 32 lower-case hex digits after `prefix` (`obs-…`, a W3C trace id). The
    /// digits are written on the stack and copied once into the String (its only allocation).
    package static func hex128(prefix: String = "") -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let (high, low) = (SplitMix64.mix(seed.0 &+ n), SplitMix64.mix(seed.1 ^ n))
        let start = prefix.utf8.count
        guard start <= 32 else { return prefix + hex(high) + hex(low) }
        var bytes = InlineArray<64, UInt8>(repeating: 0)
        var i = 0
        for b in prefix.utf8 {
            bytes[i] = b
            i += 1
        }
        writeHex(high, into: &bytes, at: start)
        writeHex(low, into: &bytes, at: start + 16)
        // Valid by construction (a String's UTF-8, then ASCII): the validation cannot fail.
        return String(copying: try! UTF8Span(validating: bytes.span.extracting(0..<start + 32)))
    }

    /// 64 non-zero bits as 16 lower-case hex digits (a W3C span id).
    package static func hex64() -> String {
        var id = SplitMix64.mix(seed.2 &+ counter.wrappingAdd(1, ordering: .relaxed).newValue)
        if id == 0 { id = 1 }
        return hex(id)
    }


    /// `v` as 16 lower-case hex digits.
    package static func hex(_ v: UInt64) -> String {
        var bytes = InlineArray<64, UInt8>(repeating: 0)
        writeHex(v, into: &bytes, at: 0)
        return String(copying: try! UTF8Span(validating: bytes.span.extracting(0..<16)))
    }

    /// The 16 lower-case hex digits of `v` (most significant first) at `bytes[offset...]`.
    ///
    /// Eight digits at a time (SWAR): each nibble is spread into its own byte, then turned into
    /// ASCII with one add and a carry-free correction for `a`–`f`. A digit at a time with a
    /// branch each was ~1.4k instructions per trace id.
    static func writeHex(_ v: UInt64, into bytes: inout InlineArray<64, UInt8>, at offset: Int) {
        for half in 0..<2 {
            var x = (v >> (32 - 32 * UInt64(half))) & 0xFFFF_FFFF
            x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
            x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
            x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F  // nibble i (from the least significant) in byte i
            let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101  // 1 where the nibble is ≥ 10
            let ascii = x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27  // "0" + d, or "a" + d − 10
            let base = offset + 8 * half
            for j in 0..<8 {
                bytes[base + j] = UInt8(truncatingIfNeeded: ascii >> UInt64(56 - 8 * j))
            }
        }
    }
}
