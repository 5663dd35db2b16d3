import Foundation

/// The promise that one batch of knowledge-base writes is on disk: every learn recorded for the
/// same node before the writer took the batch shares one ticket, resolved when that batch's
/// transaction commits (after fsync) or fails.
///
/// `@unchecked Sendable`: `state` is only touched under `lock`. The lock is a pthread mutex
/// (`NSLock`), not `Synchronization.Mutex`: this one is contended by design (the writer thread
/// resolves while event loops wait), and on Linux Mutex's contended path runs in the
/// uninstrumented stdlib, where ThreadSanitizer cannot see it and reports the guarded state as
/// a data race (docs/SANITIZERS.md "ThreadSanitizer"); TSan understands pthread mutexes.
public final class DurabilityTicket: @unchecked Sendable {
    private struct State {
        var result: Result<Void, StoreError>?
        var waiters: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
    }

    private let lock = NSLock()
    private var _state = State()
    private var state: Locked { Locked(ticket: self) }

    /// `state.withLock { ... }` as with a Mutex, over `lock` and `_state`.
    private struct Locked {
        let ticket: DurabilityTicket
        func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
            ticket.lock.lock()
            defer { ticket.lock.unlock() }
            return try body(&ticket._state)
        }
    }

    init() {}

    /// A ticket that is already resolved.
    static func resolved(_ result: Result<Void, StoreError>) -> DurabilityTicket {
        let t = DurabilityTicket()
        t.resolve(result)
        return t
    }

    /// Waits until the writes are durable; throws the store's error when they are not.
    public func wait() async throws(StoreError) {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Void, StoreError>, Never>) in
            let ready = state.withLock { s -> Result<Void, StoreError>? in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        try result.get()
    }

    /// The outcome, if known.
    public var result: Result<Void, StoreError>? { state.withLock { $0.result } }

    func resolve(_ result: Result<Void, StoreError>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Result<Void, StoreError>, Never>] in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: result) }
    }
}
