import PostgresNIO

/// Why kato could not set up its PostgreSQL: one line for the operator, never the password.
public struct PostgresSetupError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case invalidURL, unreachable, authentication, databaseMissing, tls, incompatibleSchema, server, connectionLimit
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Explains an error of postgres-nio met while connecting to or talking with `settings`.
    static func explain(_ error: any Error, _ settings: PostgresSettings) -> PostgresSetupError {
        if let e = error as? PostgresSetupError { return e }
        let target = "PostgreSQL at \(settings.host):\(settings.port)"
        guard let psql = error as? PSQLError else {
            return PostgresSetupError(.unreachable, "cannot reach \(target): \(error)")
        }
        if psql.code == .server, let info = psql.serverInfo {
            let state = info[.sqlState] ?? ""
            let text = info[.message] ?? "server error"
            switch state {
            case "28P01", "28000":
                return PostgresSetupError(.authentication,
                    "\(target) refused the credentials of user '\(settings.username)' (\(state)): \(text)")
            case "3D000":
                return PostgresSetupError(.databaseMissing, "\(target) has no database '\(settings.database)' (\(state)): create it first")
            default:
                return PostgresSetupError(.server, "\(target) answered \(state): \(text)")
            }
        }
        switch psql.code {
        case .sslUnsupported:
            return PostgresSetupError(.tls, "\(target) does not offer TLS but sslmode=\(settings.tlsMode.rawValue) requires it")
        case .failedToAddSSLHandler:
            return PostgresSetupError(.tls, "cannot start TLS with \(target)")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return PostgresSetupError(.authentication,
                "\(target) refused the credentials of user '\(settings.username)' (\(psql.code)); is the password set in the URL?")
        default:
            let cause = psql.underlying.map { "\($0)" } ?? "\(psql.code)"
            return PostgresSetupError(.unreachable, "cannot reach \(target): \(cause)")
        }
    }
}
