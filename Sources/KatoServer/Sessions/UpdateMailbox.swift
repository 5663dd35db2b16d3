import NIOConcurrencyHelpers

/// One subscriber's undelivered updates (serialized `PredictionUpdate`s), newest `capacity`
/// kept: a slow subscriber skips sequence numbers instead of holding memory or slowing the
/// session's observers (newest wins). Its one reader takes everything queued at each wake-up
/// and writes it in one go, so a burst costs one wake-up of the subscriber's task rather
/// than one per update, and the updates leave in the same flush (several DATA frames per
/// write). Replaces an `AsyncThrowingStream` per subscriber, whose yield and next were
/// ≈6 % of the server's CPU with 10,000 subscribers (docs/BENCHMARKS.md "Serving").
///
/// Any thread may `yield` and `finish`; one task reads. The lock is a glibc mutex (see
/// `Session.state` for why not `Synchronization.Mutex`); it is held for an append or a swap.
final class UpdateMailbox: Sendable {
    private struct State {
        var updates: [[UInt8]] = []
        /// The reader, while it waits for an update.
        var waiter: CheckedContinuation<[[UInt8]]?, any Error>?
        /// Set once: the error the reader gets after the queued updates (nil: a plain end).
        var end: Result<Void, any Error>?
    }

    private let state = NIOLockedValueBox(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues an update (dropped when the mailbox has ended).
    func yield(_ update: [UInt8]) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<[[UInt8]]?, any Error>? in
            guard s.end == nil else { return nil }
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            if s.updates.count >= capacity { s.updates.removeFirst(s.updates.count - capacity + 1) }
            s.updates.append(update)
            return nil
        }
        waiter?.resume(returning: [update])
    }

    /// Ends the mailbox: the reader gets what is queued, then `error` (or the end).
    func finish(throwing error: (any Error)? = nil) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<[[UInt8]]?, any Error>? in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.waiter = nil }
            return s.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// Every update queued since the last call, oldest first, waiting for one when none is;
    /// nil at the end or when the reading task is cancelled.
    func next() async throws -> [[UInt8]]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[[UInt8]]?, any Error>) in
                let ready = state.withLockedValue { s -> Result<[[UInt8]]?, any Error>? in
                    if !s.updates.isEmpty {
                        defer { s.updates = [] }
                        return .success(s.updates)
                    }
                    switch s.end {
                    case .success?: return .success(nil)
                    case .failure(let error)?: return .failure(error)
                    case nil:
                        if Task.isCancelled { return .success(nil) }
                        s.waiter = continuation
                        return nil
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> CheckedContinuation<[[UInt8]]?, any Error>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
