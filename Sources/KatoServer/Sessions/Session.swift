import Foundation
import GRPCH2
import KatoEngine
import KatoPostgres
import KatoProto
import NIOConcurrencyHelpers
import ProtobufCBridge
import Synchronization

/// One KATO session: its STM and engine state, configuration, TTL, and the subscribers to
/// its prediction updates. Operations on one session are serialised by its mutex (an
/// observe is atomic per session); different sessions run in parallel. The engine work
/// runs inside the lock: it is synchronous and bounded by the call's deadline.
public final class Session: Sendable {
    public let id: String
    public let nodeID: String
    /// A node's default session (calls without a session id) never expires.
    public let isDefault: Bool
    public let createdAt: Date
    public let metadata: Google_Protobuf_Struct
    /// The principal that created the session (nil: authentication was off, or a default
    /// session, which belongs to its node). Only it (or an admin) may change the session.
    public let owner: String?
    let engine: KatoEngine
    let limits: Limits

    struct Limits: Sendable {
        var maxSTMEvents: Int
        var maxSubscriberBacklog: Int
    }

    struct State {
        var engineState: SessionState
        var ttl: Duration
        var expiresAt: ContinuousClock.Instant
        var expiresAtWall: Date
        var sequence: Int64 = 0
        /// Each subscriber receives every update serialized once per change (`UpdateMailbox`).
        var subscribers: [Int: UpdateMailbox] = [:]
        var nextSubscriber = 0
        /// `publish`'s pass over the mailboxes before it yields to them (see there).
        var mailboxesTouched = 0
        var ended = false
        /// Snapshotted for a successor process (a restart by hand-over): nothing changes it any
        /// more here, so a call cut off at shutdown that still runs cannot change it behind the
        /// copy the successor serves (`snapshot(now:sealing:)`).
        var handedOver = false
        /// Shared sessions (`--postgres`): updates reach subscribers through the session's log in
        /// PostgreSQL (SessionRegistry+Subscriptions.swift), never directly, so every replica's
        /// subscribers see one order. `logUpdates`: a subscriber somewhere wants them.
        var shared = false
        var logUpdates = false
        var pendingLog: [Kato_V2_PredictionUpdate] = []
        /// The last sequence each subscriber here was sent (shared sessions).
        var delivered: [Int: Int64] = [:]

        var wantsUpdates: Bool { shared ? logUpdates : !subscribers.isEmpty }
    }

    /// One delivery from the log at a time (shared sessions).
    let deliveryGate = AsyncGate()

    /// Every call on the session takes this lock, and one session's calls often come from
    /// both event loops at once. A glibc mutex rather than `Synchronization.Mutex`: on Linux
    /// the latter is a priority-inheritance futex that hands the lock to the waiter on every
    /// unlock, so two loops observing the same session fell into a convoy (measured: CPU per
    /// Observe from ~46 µs to ~140 µs in some rounds, with the threads spinning in the kernel).
    let state: NIOLockedValueBox<State>

    init(id: String, nodeID: String, isDefault: Bool, engine: KatoEngine, engineState: SessionState,
         ttl: Duration, metadata: Google_Protobuf_Struct, limits: Limits, owner: String? = nil, createdAt: Date = Date()) {
        self.id = id
        self.nodeID = nodeID
        self.isDefault = isDefault
        self.createdAt = createdAt
        self.metadata = metadata
        self.owner = owner
        self.engine = engine
        self.limits = limits
        self.state = NIOLockedValueBox(State(
            engineState: engineState, ttl: ttl, expiresAt: .now + ttl,
            expiresAtWall: Date().addingTimeInterval(Self.seconds(ttl))))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The id as callers see it: empty for a node's default session.
    public var publicID: String { isDefault ? "" : id }

    func isExpired(at now: ContinuousClock.Instant) -> Bool {
        !isDefault && state.withLockedValue { $0.expiresAt <= now }
    }

    /// Slides the expiry to now + TTL (every access does).
    func touch() {
        state.withLockedValue { s in
            guard !s.handedOver else { return }
            s.expiresAt = .now + s.ttl
            s.expiresAtWall = Date().addingTimeInterval(Self.seconds(s.ttl))
        }
    }

    func extend(ttl: Duration?) {
        state.withLockedValue { s in
            guard !s.handedOver else { return }
            if let ttl { s.ttl = ttl }
            s.expiresAt = .now + s.ttl
            s.expiresAtWall = Date().addingTimeInterval(Self.seconds(s.ttl))
        }
    }

    /// Replaces the state with the one stored in the shared session store (a call's start, under
    /// the session's row lock); subscribers stay.
    func load(engineState: SessionState, ttl: Duration, sequence: Int64, logging: Bool) {
        state.withLockedValue { s in
            s.shared = true
            s.logUpdates = logging
            s.pendingLog = []
            s.engineState = engineState
            s.ttl = ttl
            s.sequence = sequence
            s.expiresAt = .now + ttl
            s.expiresAtWall = Date().addingTimeInterval(Self.seconds(ttl))
        }
    }

    /// What the shared session store keeps of the session after a call.
    func stored() -> (engineState: SessionState, ttl: Duration, sequence: Int64, ended: Bool) {
        state.withLockedValue { s in (s.engineState, s.ttl, s.sequence, s.ended) }
    }

    var hasSubscribers: Bool { state.withLockedValue { !$0.subscribers.isEmpty } }

    /// The updates the last call made, for the session's log (shared sessions).
    func takeLog() -> [Kato_V2_PredictionUpdate] {
        state.withLockedValue { s in
            defer { s.pendingLog = [] }
            return s.pendingLog
        }
    }

    /// The oldest sequence a subscriber here was sent: delivery reads the log after it.
    var deliveredSequence: Int64 { state.withLockedValue { s in s.delivered.values.min() ?? s.sequence } }

    /// Sends updates read from the log, in order, to each subscriber here that has not had them.
    func deliver(_ updates: [Kato_V2_PredictionUpdate]) {
        state.withLockedValue { s in
            for update in updates {
                var framed: FramedMessage?
                for (token, subscriber) in s.subscribers where update.sequence > s.delivered[token, default: .max] {
                    if framed == nil { framed = FramedMessage(update.serializedBytes()) }
                    subscriber.yield(framed!)
                    s.delivered[token] = update.sequence
                }
            }
        }
    }

    /// Runs an engine operation atomically; when it changed the STM (`cause` non-nil) every
    /// subscriber gets a `PredictionUpdate` with the next sequence number.
    func mutate<R: Sendable>(_ body: (KatoEngine, inout SessionState) throws -> (R, Kato_V2_UpdateCause?)) throws -> R {
        try state.withLockedValue { s in
            guard !s.ended else { throw KatoError.sessionEnded(id) }
            guard !s.handedOver else { throw KatoError.handedOver }
            let (result, cause) = try Self.transaction(&s.engineState) { try body(engine, &$0) }
            s.engineState.trimSTM(keepingLast: limits.maxSTMEvents)
            if let cause { publish(&s, cause: cause, state: s.wantsUpdates ? s.engineState : nil) }
            return result
        }
    }

    /// Like `mutate`, for operations made of several STM changes (a sequence): `publish` is
    /// called after each. All or nothing: when `body` throws, the session is unchanged and
    /// the updates collected so far are dropped. `observed`: someone listens, so the states
    /// passed to `publish` are sent (false: only counted, and the engine may leave out what
    /// only they would show — KatoEngine's `observedSteps`).
    func mutateStepwise<R: Sendable>(
        _ body: (KatoEngine, inout SessionState, _ observed: Bool, _ publish: (Kato_V2_UpdateCause, SessionState) -> Void) throws -> R
    ) throws -> R {
        try state.withLockedValue { s in
            guard !s.ended else { throw KatoError.sessionEnded(id) }
            guard !s.handedOver else { throw KatoError.handedOver }
            // Updates are built only when someone listens; the sequence number counts every change.
            // (A step's state kept for an update shares the STM's storage, so the next change
            // copies it: only with subscribers.)
            var steps: [(Kato_V2_UpdateCause, SessionState?)] = []
            let wantsUpdates = s.wantsUpdates
            let result = try Self.transaction(&s.engineState) { engineState in
                try body(engine, &engineState, wantsUpdates) { cause, stepState in
                    steps.append((cause, wantsUpdates ? stepState : nil))
                }
            }
            s.engineState.trimSTM(keepingLast: limits.maxSTMEvents)
            for (cause, stepState) in steps { publish(&s, cause: cause, state: stepState) }
            return result
        }
    }

    /// Runs `body` on the session's engine state in place, undoing its changes when it throws
    /// (validation errors, cancellation, deadlines, failed durable writes): the session is then
    /// exactly as it was. No copy of the state is made (`SessionState`'s undo record).
    private static func transaction<R>(_ engineState: inout SessionState, _ body: (inout SessionState) throws -> R) throws -> R {
        engineState.beginTransaction()
        do {
            let result = try body(&engineState)
            engineState.commitTransaction()
            return result
        } catch {
            engineState.rollbackTransaction()
            throw error
        }
    }

    /// Counts one change and sends its update (`state` nil: nobody listens).
    private func publish(_ s: inout State, cause: Kato_V2_UpdateCause, state: SessionState?) {
        s.sequence += 1
        guard let state else { return }
        if s.shared {
            // Committed with the session, then delivered from the log.
            s.pendingLog.append(Self.update(id: publicID, sequence: s.sequence, cause: cause, state: state))
            return
        }
        // Serialized once here, not once per subscriber (with 10 subscribers that was ten
        // encodings of the same message), and straight from the engine's state
        // (docs/BENCHMARKS.md "Serving").
        // Framed once too: every subscriber's stream sends from this one array.
        let framed = FramedMessage(PredictionUpdateEncoder.encode(id: publicID, sequence: s.sequence, cause: cause, state: state))
        // Each mailbox is cold (touched every few dozen ms) and `yield` locks it: a miss per
        // mailbox, one after another, as each lock's atomic keeps the next mailbox's miss from
        // starting early. Reading every mailbox first (independent loads) lets the misses
        // overlap, so `yield` finds its object, lock included, cached (docs/BENCHMARKS.md
        // "Subscriptions, eighth pass").
        var touched = 0
        for (_, subscriber) in s.subscribers { touched &+= subscriber.capacity }
        s.mailboxesTouched = touched  // kept, so the loads are not optimised away
        for (_, subscriber) in s.subscribers { subscriber.yield(framed) }
    }

    /// Reads the engine state consistently.
    func read<R>(_ body: (KatoEngine, SessionState) throws -> R) throws -> R {
        try state.withLockedValue { s in
            guard !s.ended else { throw KatoError.sessionEnded(id) }
            return try body(engine, s.engineState)
        }
    }

    /// Registers a subscriber. Its buffer keeps the newest `maxSubscriberBacklog` updates: a
    /// slow subscriber skips sequence numbers instead of slowing observers down.
    /// `resumeAfter` set: the subscriber saw every update up to that sequence (0: the initial
    /// state of a session nothing had changed yet). A shared session then sends what its log
    /// holds after it (SessionRegistry+Subscriptions.swift); here, where no log is kept, a resume
    /// that missed updates gets one `.gap` update with the state now.
    func subscribe(sendInitial: Bool, resumeAfter: Int64? = nil) throws -> (UpdateMailbox, Int) {
        let mailbox = UpdateMailbox(capacity: limits.maxSubscriberBacklog)
        let token = try state.withLockedValue { s in
            guard !s.ended else { throw KatoError.sessionEnded(id) }
            let token = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[token] = mailbox
            Self.subscribersActive.add(1, ordering: .relaxed)
            if sendInitial {
                mailbox.yield(Self.update(id: publicID, sequence: s.sequence, cause: .initial, state: s.engineState).serializedBytes())
            }
            if s.shared {
                s.delivered[token] = resumeAfter.map { min($0, s.sequence) } ?? s.sequence
                if let resumeAfter, resumeAfter > s.sequence {  // a sequence this session never reached: not the same session's
                    mailbox.yield(Self.update(id: publicID, sequence: s.sequence, cause: .gap, state: s.engineState).serializedBytes())
                }
            } else if let resumeAfter, resumeAfter != s.sequence {
                mailbox.yield(Self.update(id: publicID, sequence: s.sequence, cause: .gap, state: s.engineState).serializedBytes())
            }
            return token
        }
        return (mailbox, token)
    }


    func unsubscribe(_ token: Int) {
        if state.withLockedValue({ s in s.delivered[token] = nil; return s.subscribers.removeValue(forKey: token) }) != nil {
            Self.subscribersActive.subtract(1, ordering: .relaxed)
        }
    }

    /// Open subscriptions of every session of the process (`kato_subscribers_active`).
    static let subscribersActive = Atomic<Int>(0)

    /// Ends the session: every subscription finishes with `error`.
    func end(_ error: KatoError) {
        let subscribers = state.withLockedValue { s -> [UpdateMailbox] in
            s.ended = true
            defer { s.subscribers = [:]; s.delivered = [:] }
            return Array(s.subscribers.values)
        }
        Self.subscribersActive.subtract(subscribers.count, ordering: .relaxed)
        for s in subscribers { s.finish(throwing: error) }
    }

    static func update(id: String, sequence: Int64, cause: Kato_V2_UpdateCause, state: SessionState) -> Kato_V2_PredictionUpdate {
        var u = Kato_V2_PredictionUpdate()
        u.sessionID = id
        u.sequence = sequence
        u.cause = cause
        u.stm = Convert.events(state.stm)
        u.predictions = state.predictions.map(Convert.prediction)
        u.futurePotentials = state.futurePotentials.map(Convert.futurePotential)
        u.time = Int64(state.time)
        return u
    }

    /// The Session message.
    func message() -> Kato_V2_Session {
        state.withLockedValue { s in
            var m = Kato_V2_Session()
            m.sessionID = publicID
            m.nodeID = nodeID
            m.createdAt = Convert.timestamp(createdAt.timeIntervalSince1970)
            if !isDefault { m.expiresAt = Convert.timestamp(s.expiresAtWall.timeIntervalSince1970) }
            m.ttlSeconds = isDefault ? 0 : s.ttl.components.seconds
            m.metadata = metadata
            m.config = Convert.config(s.engineState.config)
            m.stmLength = Int64(s.engineState.stm.count)
            m.time = Int64(s.engineState.time)
            return m
        }
    }
}
