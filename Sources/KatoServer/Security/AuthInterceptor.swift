import GRPCH2
import Logging
import Metrics

/// Authenticates every call except those to `openServices` (health, reflection by default),
/// checks the method's least role (`MethodPolicy`), and attaches the `Principal` for the
/// handlers, which check nodes and session ownership. Failures end the call with
/// UNAUTHENTICATED or PERMISSION_DENIED and an `ErrorInfo`; credentials are never logged.
/// Bound to a method (`bound(to:)`) it knows the method's least role; open services get no
/// interceptor at all.
public final class AuthInterceptor: MethodBoundInterceptor {
    let authenticator: Authenticator
    let openServices: [Substring]
    let logger: Logger

    public init(authenticator: Authenticator, openServices: Set<String>, logger: Logger) {
        self.authenticator = authenticator
        self.openServices = openServices.map { Substring($0) }
        self.logger = logger
    }

    /// Whether calls to `service` need no credentials (health, reflection by default).
    func isOpen(service: Substring) -> Bool { Self.contains(openServices, service) }

    public func bound(to method: ServerMethod.Info) -> Bound? {
        if isOpen(service: method.serviceName) { return nil }
        return Bound(auth: self, method: method.methodName,
                     requiredRole: MethodPolicy.requiredRole(service: method.serviceName, method: method.methodName))
    }


    /// The interceptor for one method that needs credentials.
    public struct Bound: StagedInterceptor {
        let auth: AuthInterceptor
        let method: Substring
        let requiredRole: Role

        /// Credentials checked and the least role; a JWT's verification suspends the call.
        @inline(__always)  // into the composed stages (`ComposedStages`)
        public func before(_ context: inout ServerContext) throws -> InterceptorStep<Void> {
            switch try auth.check(context) {
            case .principal(let principal):
                try auth.authorize(principal, required: requiredRole, method: method, &context, record: context.callRecord)
                return .proceed(())
            case .jwt(let token, let verifier):
                let (auth, requiredRole, method) = (auth, requiredRole, method)
                return .suspend { context in
                    let principal = try await auth.verify(token, verifier, context)
                    try auth.authorize(principal, required: requiredRole, method: method, &context, record: context.callRecord)
                }
            }
        }
    }

    /// What `check` found for one call.
    enum Admission {
        case principal(Principal)
        /// A JWT still to verify (`verify`).
        case jwt(String, JWTVerifier)
    }

    /// Everything but a JWT's verification, without suspending, for a method that is not open
    /// (see `isOpen`). Throws the call's error.
    func check(_ context: ServerContext) throws -> Admission {
        do {
            switch try authenticator.check(context.requestMetadata, certificate: context.peerCertificate) {
            case .principal(let p): return .principal(p)
            case .jwt(let token, let verifier): return .jwt(token, verifier)
            }
        } catch {
            throw failed(error, context)
        }
    }

    func verify(_ token: String, _ verifier: JWTVerifier, _ context: ServerContext) async throws -> Principal {
        do {
            return try await verifier.verify(token)
        } catch {
            throw failed(error, context)
        }
    }

    /// Counts and logs an authentication failure (never the credentials; for a client
    /// certificate that maps to no principal, its subject and SHA-256 fingerprint, the two
    /// ways to map it in the key file); the call's error.
    func failed(_ error: KatoError, _ context: ServerContext) -> any Error {
        Self.failure(error.reason)
        var metadata: Logger.Metadata = [
            "method": "\(context.path)", "reason": "\(error.reason)", "peer": "\(context.peer)", "trace_id": "\(context.traceID)",
        ]
        if error.reason == "CERTIFICATE_UNKNOWN", let certificate = context.peerCertificate {
            metadata["certificate_subject"] = "\(certificate.subject)"
            metadata["certificate_sha256"] = "\(CertificatePrincipals.fingerprint(of: certificate))"
        }
        logger.info("authentication failed", metadata: metadata)
        return error
    }

    /// Records the principal (for the access log and the handlers) and checks the method's
    /// least role, `required` (`MethodPolicy`).
    func authorize(
        _ principal: Principal, required: Role, method: Substring, _ context: inout ServerContext, record: CallRecord?
    ) throws {
        if let record {
            record.record(principal: principal)
        } else {
            context.attributes[PrincipalKey.self] = principal
        }
        guard principal.has(required) else {
            Self.failure("ROLE_REQUIRED")
            throw KatoError.permissionDenied(reason: "ROLE_REQUIRED", message: "\(method) needs the \(required.rawValue) role")
        }
    }

    /// Membership in a small set of service names, comparing lengths first (no hashing per call).
    static func contains(_ names: [Substring], _ name: Substring) -> Bool {
        let count = name.utf8.count
        for candidate in names where candidate.utf8.count == count && candidate == name { return true }
        return false
    }

    static func failure(_ reason: String) {
        Counter(label: "kato_auth_failures_total", dimensions: [("reason", reason)]).increment()
    }
}
