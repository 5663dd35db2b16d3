#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds for per-call timing (handling time, access-log duration, rate-limit
/// buckets): `clock_gettime(CLOCK_MONOTONIC)` read straight into an `Int64`. The same times
/// through `ContinuousClock.now` and `Duration` cost ~1.5k instructions per call, mostly
/// `Int128` multiplication and division in `Duration.components`.
///
/// Only differences between two readings mean anything (no epoch); it is not
/// `ContinuousClock` (which may count time suspended), so never mix the two in one subtraction.
package enum CallClock {
    @inlinable
    package static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
