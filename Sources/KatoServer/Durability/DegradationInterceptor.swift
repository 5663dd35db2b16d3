import GRPCH2
import KatoStore

/// Refuses every kato.v2 call while the store is in MAINTENANCE (UNAVAILABLE, reason `DEGRADED`);
/// health and reflection stay available.
final class DegradationInterceptor: ServerInterceptor {
    let status: StoreStatus

    init(status: StoreStatus) {
        self.status = status
    }

    func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        try check(context)
        try await next(context)
    }

    /// Throws UNAVAILABLE for a kato.v2 call while the store is in MAINTENANCE.
    func check(_ context: ServerContext) throws {
        if Self.applies(to: context.path) { try checkLevel(context) }
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
