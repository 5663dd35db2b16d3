import GRPCH2
import Synchronization

/// One subscriber's undelivered updates (serialized `PredictionUpdate`s, framed once per
/// publish and shared by every subscriber's mailbox: `FramedMessage`), newest `capacity`
/// kept: a slow subscriber skips sequence numbers instead of holding memory or slowing the
/// session's observers (newest wins).
///
/// Two ways out. Pushed (`attach`, the HTTP/2 server): the subscriber's connection takes the
/// updates itself on its event loop — the first update after a take schedules one, later ones
/// join it — so an update costs no task wake-up or async write, and what a subscriber gathered
/// during one loop turn (or one `--subscription-write-delay-ms`) leaves in one write; while the connection's buffer for the stream is
/// full (the peer is not reading) it takes nothing and the mailbox drops the oldest. Read
/// (`next`, transports without push): the subscriber's task takes everything queued at each
/// wake-up and writes it in one go.
///
/// Any thread may `yield` and `finish`; one task reads or waits for the end. The lock is held
/// for an append or a swap. It is a `Synchronization.Mutex`, stored in the mailbox object
/// itself: a session's `publish` reads its mailboxes before yielding to them, so the lock and
/// the queue are in cache by then (a lock box of its own was a second object to miss, after
/// the first, per subscriber). `Session.state` keeps a glibc mutex for its long, contended
/// holds (the engine runs under it); these holds are a few instructions, rarely contended.
final class UpdateMailbox: ResponsePushSource {
    /// What a subscriber receives of one update (`attach`'s `transform`).
    enum Delivery: Sendable {
        /// The update as published: left where it is (no write-back, so no retain and release
        /// of the storage every subscriber of the session shares).
        case asPublished
        case replaced(FramedMessage)
        case skipped

        /// What the subscriber is sent of `published` (nil: nothing).
        func message(published: FramedMessage) -> FramedMessage? {
            switch self {
            case .asPublished: published
            case .replaced(let update): update
            case .skipped: nil
            }
        }
    }
    typealias Transform = @Sendable (FramedMessage) -> Delivery

    /// What `yield` reads comes first: with the mailbox's first bytes (`capacity`, the lock
    /// word) it shares their cache lines (`Session.publish` touches those beforehand).
    ///
    /// The queue is `first` followed by `more`. A fan-out subscriber holds one update between
    /// takes nearly always (a session publishes every few dozen ms, its connection takes every
    /// few ms), and that one lives in the mailbox object itself: an array of its own was a
    /// second object that both threads wrote — the publisher's append, the connection's take —
    /// so each of them missed on it in turn (`Session.publish` and `takePushed`, ≈ 4 % of the
    /// server's samples; docs/BENCHMARKS.md "Subscriptions, ninth pass").
    fileprivate struct State {
        /// Updates queued (`first`, then `more`): counted here so that a yield reads `more`
        /// only when it holds some.
        var count = 0
        var first: FramedMessage?
        /// A take is scheduled (or the connection parked the mailbox): a yield only queues.
        var takeScheduled = false
        var more: [FramedMessage] = []
        /// Set once: the error the reader gets after the queued updates (nil: a plain end).
        var end: Result<Void, any Error>?
        /// The reader, while it waits for an update (`next`).
        var waiter: CheckedContinuation<[FramedMessage]?, any Error>?
        /// Pushed: the connection to hand updates to, and what each update becomes on the way.
        var pusher: ResponsePusher?
        var transform: Transform?
        /// While these flags have predictions on, a take skips `transform` altogether: read in
        /// place under the lock, where copying the closure out retains its context (a cache miss
        /// per take: 10,000 subscribers' contexts, each touched a few times a second).
        var asPublishedWhile: LiveFlags?
        /// The subscriber's task, while it waits for the end (`waitForEnd`).
        var endWaiter: CheckedContinuation<(any Error)?, Never>?
    }

    /// Declared before `state`: read without the lock (`Session.publish`'s pass), it brings the
    /// lock word's cache line along.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    private enum Wake {
        case none
        case reader(CheckedContinuation<[FramedMessage]?, any Error>)
        case connection(ResponsePusher)
    }

    /// Queues an update (dropped when the mailbox has ended).
    func yield(_ update: [UInt8]) {
        yield(FramedMessage(update))
    }

    /// Queues an update framed already (one framing for all of a session's subscribers).
    func yield(_ update: FramedMessage) {
        let wake = state.withLock { s -> Wake in
            guard s.end == nil else { return .none }
            if let w = s.waiter {
                s.waiter = nil
                return .reader(w)
            }
            if s.count >= capacity { s.dropOldest(s.count - capacity + 1) }
            s.append(update)
            guard let pusher = s.pusher, !s.takeScheduled else { return .none }
            s.takeScheduled = true
            return .connection(pusher)
        }
        switch wake {
        case .none: break
        case .reader(let w): w.resume(returning: [update])
        case .connection(let pusher): pusher.schedule(self)
        }
    }

    /// Pushed delivery from now on (see the type): what is queued already goes first.
    /// `transform` runs on each update as the connection takes it, unless `asPublishedWhile`'s
    /// predictions are on at the take (then every update goes as published).
    func attach(_ pusher: ResponsePusher, asPublishedWhile flags: LiveFlags? = nil, transform: Transform? = nil) {
        let schedule = state.withLock { s -> Bool in
            s.pusher = pusher
            s.transform = transform
            s.asPublishedWhile = flags
            guard s.count > 0, !s.takeScheduled, s.end == nil else { return false }
            s.takeScheduled = true
            return true
        }
        if schedule { pusher.schedule(self) }
    }

    /// The connection takes what is queued (`ResponsePushSource`) into its reused array. The
    /// updates move without a retain each (a cache miss: their shared storage's count was last
    /// written by the publishing thread): `first` moved out, `more` — when there is more —
    /// swapped with the connection's array when that is empty (the mailbox gets its emptied
    /// capacity), else appended. A take allocates nothing (it was an array per subscriber per
    /// update).
    func takeResponses(into responses: inout [FramedMessage]) {
        let start = responses.count
        let transform = state.withLock { s -> Transform? in
            s.takeScheduled = false
            s.take(into: &responses)
            if s.asPublishedWhile?.predictions == true { return nil }
            return s.transform
        }
        guard let transform else { return }
        var kept = start
        for i in start..<responses.count {
            switch transform(responses[i]) {
            case .asPublished:
                if kept != i { responses.swapAt(kept, i) }
                kept += 1
            case .replaced(let update):
                responses[kept] = update
                kept += 1
            case .skipped:
                break
            }
        }
        responses.removeLast(responses.count - kept)
    }

    /// Everything queued, for the subscriber's task at the end (and tests).
    func takeResponses() -> [FramedMessage] {
        var responses: [FramedMessage] = []
        takeResponses(into: &responses)
        return responses
    }

    /// Ends the mailbox: the reader gets what is queued, then `error` (or the end).
    func finish(throwing error: (any Error)? = nil) {
        let (waiter, endWaiter) = state.withLock { s -> (CheckedContinuation<[FramedMessage]?, any Error>?, CheckedContinuation<(any Error)?, Never>?) in
            guard s.end == nil else { return (nil, nil) }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.waiter = nil; s.endWaiter = nil }
            return (s.waiter, s.endWaiter)
        }
        endWaiter?.resume(returning: error)
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// Pushed: waits until the mailbox ends (its error, nil for a plain end) or the waiting
    /// task is cancelled (nil). Updates still queued then are the caller's (`takeResponses`).
    func waitForEnd() async -> (any Error)? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<(any Error)?, Never>) in
                let ended = state.withLock { s -> (any Error)?? in
                    switch s.end {
                    case .success?: return .some(nil)
                    case .failure(let error)?: return .some(error)
                    case nil:
                        if Task.isCancelled { return .some(nil) }
                        s.endWaiter = continuation
                        return .none
                    }
                }
                if case .some(let error) = ended { continuation.resume(returning: error) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<(any Error)?, Never>? in
                defer { s.endWaiter = nil }
                return s.endWaiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Every update queued since the last call, oldest first, waiting for one when none is;
    /// nil at the end or when the reading task is cancelled.
    func next() async throws -> [FramedMessage]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[FramedMessage]?, any Error>) in
                let ready = state.withLock { s -> Result<[FramedMessage]?, any Error>? in
                    if s.count > 0 {
                        var updates: [FramedMessage] = []
                        s.take(into: &updates)
                        return .success(updates)
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
            let waiter = state.withLock { s -> CheckedContinuation<[FramedMessage]?, any Error>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

private extension UpdateMailbox.State {
    mutating func append(_ update: FramedMessage) {
        if count == 0 { first = update } else { more.append(update) }
        count += 1
    }

    /// Drops the `n` oldest updates (1 ≤ n ≤ count): newest wins.
    mutating func dropOldest(_ n: Int) {
        first = nil
        if n > 1 { more.removeFirst(n - 1) }
        count -= n
        if count > 0 { first = more.removeFirst() }
    }

    /// Moves every queued update to the end of `responses`, oldest first.
    mutating func take(into responses: inout [FramedMessage]) {
        guard let update = first.take() else { return }
        if count > 1, responses.isEmpty {
            swap(&responses, &more)
            responses.insert(update, at: 0)
        } else {
            responses.append(update)
            if count > 1 {
                responses.append(contentsOf: more)
                more.removeAll(keepingCapacity: true)
            }
        }
        count = 0
    }
}
