import GRPCH2
import KatoStore

/// Refuses every kato.v2 call while the store is in MAINTENANCE (UNAVAILABLE, reason `DEGRADED`);
/// health and reflection stay available.
struct DegradationInterceptor: ServerInterceptor {
    let status: StoreStatus

    func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        try check(context)
        try await next(context)
    }

    /// Throws UNAVAILABLE for a kato.v2 call while the store is in MAINTENANCE.
    func check(_ context: ServerContext) throws {
        if context.path.hasPrefix("/kato.v2."), !status.level.servesCalls {
            let reason = status.snapshot().maintenanceReason ?? "store unavailable"
            throw KatoError.unavailable(reason: "DEGRADED", message:
                "the server is in MAINTENANCE (\(reason)); only health is served").rpcError(traceID: context.traceID)
        }
    }
}
