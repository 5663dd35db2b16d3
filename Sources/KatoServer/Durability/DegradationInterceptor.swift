import GRPCH2
import KatoStore

/// Refuses every kato.v2 call while the store is in MAINTENANCE (UNAVAILABLE, reason `DEGRADED`);
/// health and reflection stay available.
final class DegradationInterceptor: Sendable {
    let status: StoreStatus

    init(status: StoreStatus) {
        self.status = status
    }

    /// Whether calls to `path` are refused in MAINTENANCE (kato.v2's; not health or reflection).
    static func applies(to path: String) -> Bool { path.hasPrefix("/kato.v2.") }

    /// Throws UNAVAILABLE while the store is in MAINTENANCE, for a method it `applies(to:)`.
    func checkLevel(_ context: ServerContext) throws {
        if !status.level.servesCalls {
            let reason = status.snapshot().maintenanceReason ?? "store unavailable"
            throw KatoError.unavailable(reason: "DEGRADED", message:
                "the server is in MAINTENANCE (\(reason)); only health is served").rpcError(traceID: context.traceID)
        }
    }
}
