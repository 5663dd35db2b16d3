import GRPCH2
import KatoEngine
import KatoStore

/// The handlers' side of durability and degradation: what each level refuses, and waiting for a
/// write to be durable before answering. Every refusal is an UNAVAILABLE status with an
/// ErrorInfo reason (`CIRCUIT_OPEN`, `DEGRADED`, `DATABASE_ERROR`) — nothing is dropped silently.
enum Durability {
    /// Refuses a knowledge-base write (Learn, ClearAllMemory, a learning sequence) unless the
    /// level allows writes.
    static func checkWrites(_ level: DegradationLevel) throws(KatoError) {
        guard !level.allowsWrites else { return }
        throw .unavailable(reason: "CIRCUIT_OPEN", message:
            "the knowledge base is read-only while the store recovers (degradation level \(level)); nothing was changed, retry later")
    }

    /// Refuses observations that carry emotives unless the level allows them.
    static func checkEmotives(_ level: DegradationLevel, _ observations: [Observation]) throws(KatoError) {
        guard !level.allowsEmotives, observations.contains(where: { !$0.emotives.isEmpty }) else { return }
        throw .unavailable(reason: "DEGRADED", message:
            "emotives are switched off while the store is degraded (level \(level)); nothing was changed, retry without emotives or later")
    }

    /// Waits until every ticket's writes are on disk; a failed write becomes UNAVAILABLE
    /// (`CIRCUIT_OPEN` or `DATABASE_ERROR`) with `what` saying what was not made durable.
    /// `what` is made only for a failure: callers interpolate it, and every Observe calls this
    /// (with no ticket unless it auto-learned), so a `String` argument was a string built and
    /// freed per call.
    static func awaitDurable(
        _ tickets: [DurabilityTicket], _ context: ServerContext, _ what: @autoclosure () -> String
    ) async throws {
        var seen: [ObjectIdentifier] = []
        for t in tickets where !seen.contains(ObjectIdentifier(t)) {
            seen.append(ObjectIdentifier(t))
            do {
                try await t.wait()
            } catch {
                throw KatoError.store(error, what())
            }
        }
    }
}

extension KatoError {
    /// A store failure, for the client: CIRCUIT_OPEN when the breaker refused the write,
    /// DATABASE_ERROR otherwise. The write was rolled back in memory (see `DurableNode`).
    static func store(_ error: StoreError, _ what: String) -> KatoError {
        let reason = error.code == .circuitOpen ? "CIRCUIT_OPEN" : "DATABASE_ERROR"
        return .unavailable(reason: reason, message: "\(what) was not made durable and was undone: \(error.message)")
    }
}
