/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, deterministic generator and 64-bit mixer.
/// The randomized tests and the load benchmarks draw from it so that a seed names a reproducible run;
/// `UniqueIDs` mixes its seeds with it. Not for anything that must be unpredictable.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package var state: UInt64

    package init(state: UInt64) { self.state = state }
    package init(seed: UInt64) { self.state = seed }

    package mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.finalize(state)
    }

    /// The first output of a generator whose state is `x`: a bijective mix of all 64 bits.
    package static func mix(_ x: UInt64) -> UInt64 { finalize(x &+ increment) }

    /// A number in `range` (a modulo draw: uniform enough for test data and load).
    package mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// A number in `0..<n`.
    package mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    package mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    private static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    private static func finalize(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
