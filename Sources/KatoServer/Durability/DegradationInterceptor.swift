import GRPCH2
import KatoStore

/// Refuses every kato.v2 call while the store is in MAINTENANCE (UNAVAILABLE, reason `DEGRADED`);
/// health and reflection stay available (the interceptor does not bind to them).
final class DegradationInterceptor: StagedInterceptor {
    let status: StoreStatus

    init(status: StoreStatus) {
        self.status = status
    }

    /// Whether calls to `path` are refused in MAINTENANCE (kato.v2's; not health or reflection).
    static func applies(to path: String) -> Bool { path.hasPrefix("/kato.v2.") }

    func bound(to method: ServerMethod.Info) -> DegradationInterceptor? { Self.applies(to: method.path) ? self : nil }

    @inline(__always)  // into the composed stages (`ComposedStages`)
    func before(_ context: inout ServerContext) throws -> InterceptorStep<Void> {
        try checkLevel()
        return .proceed(())
    }

    /// Throws UNAVAILABLE while the store is in MAINTENANCE.
    func checkLevel() throws(KatoError) {
        if !status.level.servesCalls {
            let reason = status.snapshot().maintenanceReason ?? "store unavailable"
            throw KatoError.unavailable(reason: "DEGRADED", message:
                "the server is in MAINTENANCE (\(reason)); only health is served")
        }
    }
}
