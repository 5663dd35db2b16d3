import GRPCH2
import Logging
import Metrics

/// Authenticates every call except those to `openServices` (health, reflection by default),
/// checks the method's least role (`MethodPolicy`), and attaches the `Principal` for the
/// handlers, which check nodes and session ownership. Failures end the call with
/// UNAUTHENTICATED or PERMISSION_DENIED and an `ErrorInfo`; credentials are never logged.
public struct AuthInterceptor: ServerInterceptor {
    let authenticator: Authenticator
    let openServices: Set<Substring>
    let logger: Logger

    public init(authenticator: Authenticator, openServices: Set<String>, logger: Logger) {
        self.authenticator = authenticator
        self.openServices = Set(openServices.map { Substring($0) })
        self.logger = logger
    }

    public func intercept(_ context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        let path = context.methodPath
        let service = path.service
        if Self.contains(openServices, service) { return try await next(context) }
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(context.requestMetadata, certificate: context.peerCertificate)
        } catch {
            Self.failure(error.reason)
            logger.info("authentication failed", metadata: [
                "method": "\(context.path)", "reason": "\(error.reason)", "peer": "\(context.peer)", "trace_id": "\(context.traceID)",
            ])
            throw error.rpcError(traceID: context.traceID)
        }
        context.callRecord?.record(principal: principal.name)
        let required = MethodPolicy.requiredRole(service: service, method: path.method)
        guard principal.has(required) else {
            Self.failure("ROLE_REQUIRED")
            throw KatoError.permissionDenied(
                reason: "ROLE_REQUIRED", message: "\(path.method) needs the \(required.rawValue) role"
            ).rpcError(traceID: context.traceID)
        }
        var context = context
        context.attributes[PrincipalKey.self] = principal
        try await next(context)
    }

    /// Membership in a small set of service names, comparing lengths first (no hashing per call).
    static func contains(_ names: Set<Substring>, _ name: Substring) -> Bool {
        let count = name.utf8.count
        for candidate in names where candidate.utf8.count == count && candidate == name { return true }
        return false
    }

    static func failure(_ reason: String) {
        Counter(label: "kato_auth_failures_total", dimensions: [("reason", reason)]).increment()
    }
}
