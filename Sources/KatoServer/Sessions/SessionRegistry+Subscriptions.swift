import Foundation
import KatoEngine
import KatoPostgres
import KatoProto
import ProtobufCBridge

/// Subscriptions to shared sessions (docs/SCALING.md). A call that changes a session appends its
/// PredictionUpdates to the session's bounded log in PostgreSQL, in the transaction that stores the
/// session, and announces the last sequence (NOTIFY `S:SEQUENCE:ID`: ids only, never the update).
/// Every replica with subscribers to that session reads the log after what it sent and pushes the
/// updates, in sequence order; a poll each second covers a lost notification. So a subscriber on
/// replica B receives every update caused on A, and one that reconnects elsewhere with
/// `resume_after_sequence` gets what it missed — or, when the log no longer holds it, one
/// UPDATE_CAUSE_GAP update with the state now: never a silent hole.
extension SessionRegistry {
    /// Sends `session`'s subscribers here what the log holds after what they were sent; ends
    /// them when the session is gone.
    func catchUp(_ session: Session) async {
        guard let shared, session.hasSubscribers else { return }
        await session.deliveryGate.withLock {
            let after = session.deliveredSequence
            let fetched: SessionUpdates?
            do {
                fetched = try await shared.updates(of: session.id, after: after)
            } catch {
                return  // PostgreSQL unavailable: the next notification or poll retries
            }
            guard let fetched else {
                session.end(.sessionEnded(session.id))
                return
            }
            guard fetched.sequence > after else { return }
            var updates: [Kato_V2_PredictionUpdate] = []
            var next = after + 1
            for (sequence, bytes) in fetched.updates {
                guard sequence == next, let update = try? Kato_V2_PredictionUpdate(serializedBytes: bytes) else { break }
                updates.append(update)
                next += 1
            }
            if next <= fetched.sequence, let state = try? SessionStateCodec.decode(fetched.state) {
                // The log no longer holds (or never held) updates up to now: the state now, marked.
                updates.append(Session.update(id: session.publicID, sequence: fetched.sequence, cause: .gap, state: state))
            }
            session.deliver(updates)
        }
        if !session.hasSubscribers { await release(session) }
    }

    /// The session installed here under `id` (a node's default session: `default:NODE`).
    func installed(_ id: String) -> Session? {
        state.withLock { s in
            id.hasPrefix("default:") ? s.defaults[String(id.dropFirst("default:".count))] : s.sessions[id]
        }
    }

    /// Sessions with subscribers here.
    var subscribed: [Session] {
        state.withLock { s in (Array(s.sessions.values) + Array(s.defaults.values)).filter(\.hasSubscribers) }
    }

    /// Follows the sessions subscribed here until cancelled: each notification of an update
    /// delivers it; every second every subscribed session catches up (a lost notification, a
    /// deletion elsewhere), and every 30 s their logging is extended (it lapses 2 minutes after
    /// the last subscriber's replica stopped extending it, e.g. died).
    func followSubscriptions(_ shared: any SharedSessionStore) async {
        shared.onSessionUpdate { [weak self] id, sequence in
            guard let self, let session = self.installed(id), session.deliveredSequence < sequence else { return }
            Task { await self.catchUp(session) }
        }
        var tick = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let sessions = subscribed
            for session in sessions { await catchUp(session) }
            tick += 1
            if tick % 30 == 0 { try? await shared.keepLogging(sessions.map(\.id)) }
        }
    }
}
