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
enum UniqueIDs {
    static let seed: (UInt64, UInt64, UInt64) = {
        var rng = SystemRandomNumberGenerator()
        return (rng.next(), rng.next(), rng.next())
    }()
    static let counter = Atomic<UInt64>(0)

    /// 128 bits as 32 lower-case hex digits after `prefix` (`obs-…`, a W3C trace id).
    static func hex128(prefix: String = "") -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var bytes = Array(prefix.utf8)
        let base = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 32))
        appendHex(splitMix(seed.0 &+ n), into: &bytes, at: base)
        appendHex(splitMix(seed.1 ^ n), into: &bytes, at: base + 16)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 64 non-zero bits as 16 lower-case hex digits (a W3C span id).
    static func hex64() -> String {
        var id = splitMix(seed.2 &+ counter.wrappingAdd(1, ordering: .relaxed).newValue)
        if id == 0 { id = 1 }
        return hex(id)
    }

    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `v` as 16 lower-case hex digits.
    static func hex(_ v: UInt64) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        appendHex(v, into: &bytes, at: 0)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 16 lower-case hex digits of `v` at `bytes[offset...]`.
    static func appendHex(_ v: UInt64, into bytes: inout [UInt8], at offset: Int) {
        var v = v
        for i in stride(from: offset + 15, through: offset, by: -1) {
            let d = UInt8(truncatingIfNeeded: v & 0xF)
            bytes[i] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") - 10 + d
            v >>= 4
        }
    }
}

/// The calling thread's shard among `count`, for state split per thread so the event loops
/// do not write the same cache line (histograms, counters, log buffers, rate-limit and key
/// caches): a hash of `pthread_self()` (a TLS read, no system call).
enum ThreadShard {
    static func index(count: Int) -> Int {
        let id = UInt64(pthread_self())
        return Int(truncatingIfNeeded: ((id >> 12) &* 0x9E37_79B9_7F4A_7C15) >> 40) % count
    }
}
