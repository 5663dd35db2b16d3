import Foundation

/// A value behind a pthread mutex (`NSLock`), with `Synchronization.Mutex`'s `withLock`.
///
/// KatoStore's locks are contended by design: the group-commit writer thread takes them while
/// the event loops record learns and wait for tickets. On Linux, `Mutex`'s contended path runs
/// in the uninstrumented Swift runtime, where ThreadSanitizer cannot see the lock and reports
/// the state it guards as a data race (docs/SANITIZERS.md "ThreadSanitizer"), and it is a
/// priority-inheritance futex that convoys under contention (see `Session.state` in
/// KatoServer). A plain pthread mutex has neither problem.
///
/// `@unchecked Sendable`: `value` is only reached through `withLock`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
