import Synchronization

/// Sessions a predecessor has announced (their ids, `HandOverMessage.done`'s index) but whose
/// state is still on its way (docs/OPERATIONS.md "Restart", step 5): the successor accepts calls
/// as soon as it has the index, and a call for a session not yet installed waits for that
/// session's chunk only — never answers from nothing (a default session would otherwise be
/// created afresh, a named one be NOT_FOUND).
///
/// Every call checks `isActive` first (one atomic load): outside a hand-over nothing else runs.
/// The ids are removed chunk by chunk only after the chunk's sessions are in the registry, so a
/// call that finds an id no longer pending finds its session installed.
public final class PendingSessions: Sendable {
    /// How long a call waits for its session at most; past it: UNAVAILABLE
    /// `SESSION_HANDOVER_PENDING` (retryable), or DEADLINE_EXCEEDED when the call's deadline came first.
    public static let defaultWait: Duration = .seconds(30)

    private struct State {
        var chunkOf: [String: Int] = [:]
        var gates: [HandOverGate] = []
        var all = HandOverGate()
        var remainingChunks = 0
        var wait = PendingSessions.defaultWait
    }

    private let active = Atomic<Bool>(false)
    private let state = Mutex(State())

    public init() {}

    /// Whether some announced session has not arrived yet.
    var isActive: Bool { active.load(ordering: .acquiring) }

    /// How many announced sessions have not arrived (counted against `--max-sessions` and in health).
    var count: Int { isActive ? state.withLock { $0.chunkOf.count } : 0 }

    /// Calls waiting now (tests wait for theirs to be waiting).
    var waitingCalls: Int { state.withLock { $0.gates + [$0.all] }.reduce(0) { $0 + $1.waiting } }

    /// Announces `ids`, in the order the chunks of `chunkSize` sessions will carry them.
    func expect(ids: [String], chunkSize: Int, wait: Duration) {
        let chunks = (ids.count + chunkSize - 1) / chunkSize
        state.withLock { s in
            s.chunkOf.reserveCapacity(ids.count)
            for (i, id) in ids.enumerated() { s.chunkOf[id] = i / chunkSize }
            s.gates = (0..<chunks).map { _ in HandOverGate() }
            s.remainingChunks = chunks
            s.wait = wait
        }
        active.store(chunks > 0, ordering: .releasing)
    }

    /// Chunk `index` is installed (its sessions are in the registry): its calls go on.
    func arrived(chunk index: Int, ids: some Sequence<String>) {
        let (gate, all) = state.withLock { s -> (HandOverGate?, HandOverGate?) in
            guard index < s.gates.count else { return (nil, nil) }
            for id in ids { s.chunkOf.removeValue(forKey: id) }
            s.remainingChunks -= 1
            return (s.gates[index], s.remainingChunks == 0 ? s.all : nil)
        }
        gate?.open(.open)
        if let all {
            state.withLock { $0.chunkOf = [:] }  // ids a chunk did not carry (none, when the predecessor is right)
            active.store(false, ordering: .releasing)
            all.open(.open)
        }
    }

    /// The rest of the hand-over is lost (the connection broke, a chunk was unreadable): the
    /// waiting calls get UNAVAILABLE, later ones find the sessions unknown (NOT_FOUND).
    func fail(_ reason: String) {
        let gates = state.withLock { s -> [HandOverGate] in
            defer {
                s.chunkOf = [:]
                s.remainingChunks = 0
            }
            return s.gates + [s.all]
        }
        active.store(false, ordering: .releasing)
        for gate in gates { gate.open(.failed(reason)) }
    }

    /// Waits until session `id` has arrived, when it is announced and not yet here; returns at once
    /// otherwise (an id never announced is looked up as usual).
    func wait(for id: String, deadline: ContinuousClock.Instant?) async throws(KatoError) {
        guard isActive else { return }
        let found = state.withLock { s -> (HandOverGate, Duration)? in
            s.chunkOf[id].map { (s.gates[$0], s.wait) }
        }
        guard let (gate, bound) = found else { return }
        try await Self.await(gate, bound: bound, deadline: deadline, what: "session '\(id)'")
    }

    /// Waits until every announced session has arrived (counting sessions needs them all).
    func waitForAll(deadline: ContinuousClock.Instant?) async throws(KatoError) {
        guard isActive else { return }
        let (gate, bound) = state.withLock { ($0.all, $0.wait) }
        try await Self.await(gate, bound: bound, deadline: deadline, what: "the sessions")
    }

    private static func await(_ gate: HandOverGate, bound: Duration, deadline: ContinuousClock.Instant?, what: String) async throws(KatoError) {
        let limit = ContinuousClock.now + bound
        let until = deadline.map { min($0, limit) } ?? limit
        switch await gate.wait(until: until) {
        case .open: return
        case .failed(let reason):
            throw .unavailable(reason: "SESSION_HANDOVER_FAILED", message: "\(what) could not be handed over by the previous server process: \(reason)")
        case .timedOut:
            if let deadline, deadline <= limit { throw .deadlineExceeded }
            throw .unavailable(reason: "SESSION_HANDOVER_PENDING",
                               message: "\(what) still on the way from the previous server process (restart by hand-over); retry")
        }
    }
}

/// Opened once; calls wait on it until then or until their own time limit.
final class HandOverGate: Sendable {
    enum Outcome: Sendable {
        case open, failed(String), timedOut
    }

    private struct State {
        var outcome: Outcome?
        var next = 0
        var waiters: [Int: (CheckedContinuation<Outcome, Never>, Task<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    var waiting: Int { state.withLock { $0.waiters.count } }

    func open(_ outcome: Outcome) {
        let waiters = state.withLock { s -> [(CheckedContinuation<Outcome, Never>, Task<Void, Never>)] in
            guard s.outcome == nil else { return [] }
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for (continuation, timer) in waiters {
            timer.cancel()
            continuation.resume(returning: outcome)
        }
    }

    func wait(until deadline: ContinuousClock.Instant) async -> Outcome {
        if let outcome = state.withLock({ $0.outcome }) { return outcome }
        return await withCheckedContinuation { continuation in
            let already = state.withLock { s -> Outcome? in
                if let outcome = s.outcome { return outcome }
                s.next += 1
                let id = s.next
                let timer = Task { [self] in
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    if !Task.isCancelled { resume(id, .timedOut) }
                }
                s.waiters[id] = (continuation, timer)
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    private func resume(_ id: Int, _ outcome: Outcome) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.0.resume(returning: outcome)
    }
}
