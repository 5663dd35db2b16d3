import Foundation

// The ThreadSanitizer false positive that Tests/python/tsan.supp suppresses, without this
// project or swift-nio (test_tsan_suppressions.py builds it with `swiftc -sanitize=thread`).
// A task on the global pool awaits a continuation that a plain thread resumes, as the echo
// server's shutdown awaits `closeFuture.get()` (NIO's `withUnsafeThrowingContinuation`),
// resumed by an event loop thread. TSan reports the stdlib's read of the continuation context in
// `UnsafeContinuation.resume` against the resumed task's write to it: the two are ordered by the
// Swift runtime's atomics on the continuation status, inside uninstrumented libswift_Concurrency.
// DELAY_US: how long the resuming thread waits first (0: it may resume before the task has
// suspended; 2000: after). NONTHROWING: `withUnsafeContinuation` instead. RUNS: how many (3000).
final class Ref: @unchecked Sendable { let delay: UInt32; init(_ d: UInt32) { delay = d } }
@main struct Main {
    static func main() async throws {
        let delay = Ref(UInt32(ProcessInfo.processInfo.environment["DELAY_US"] ?? "0")!)
        let throwing = ProcessInfo.processInfo.environment["NONTHROWING"] == nil
        var total = 0
        for i in 0..<(Int(ProcessInfo.processInfo.environment["RUNS"] ?? "") ?? 3000) {
            if throwing {
                total += try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Int, Error>) in
                    Thread { if delay.delay > 0 { usleep(delay.delay) }; c.resume(returning: i) }.start()
                }
            } else {
                total += await withUnsafeContinuation { (c: UnsafeContinuation<Int, Never>) in
                    Thread { if delay.delay > 0 { usleep(delay.delay) }; c.resume(returning: i) }.start()
                }
            }
        }
        print("total", total)
    }
}
