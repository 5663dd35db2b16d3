#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's shard among `count`, for state split per thread so the event loops
/// do not write the same cache line (histograms, counters, log buffers, rate-limit and key
/// caches): a hash of `pthread_self()` (a TLS read, no system call).
package enum ThreadShard {
    @inlinable
    package static func index(count: Int) -> Int {
        let id = UInt64(pthread_self())
        return Int(truncatingIfNeeded: ((id >> 12) &* 0x9E37_79B9_7F4A_7C15) >> 40) % count
    }
}
