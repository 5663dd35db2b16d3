/// The promise that one batch of knowledge-base writes is on disk: every learn recorded for the
/// same node before the writer took the batch shares one ticket, resolved when that batch's
/// transaction commits (after fsync) or fails.
public final class DurabilityTicket: Sendable {
    private struct State {
        var result: Result<Void, StoreError>?
        var waiters: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
    }

    private let state = Locked(State())  // contended: writer thread vs event loops (Locked.swift)

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
