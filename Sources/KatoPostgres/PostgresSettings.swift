import Foundation
import KatoStore
import NIOCore
import NIOSSL
import PostgresNIO

/// Where kato's PostgreSQL is and how to reach it, parsed from a libpq-style URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=…&sslrootcert=…&connect_timeout=…`.
///
/// The password is kept for the connection and never printed: ``description`` shows `USER:***@…`.
/// TLS follows libpq's `sslmode` words where postgres-nio can do them: `disable`, `prefer`
/// (libpq's default: TLS when the server offers it, unverified), `require` (TLS, unverified),
/// `verify-ca` (chain checked, not the host name), `verify-full` (chain and host name);
/// `sslrootcert` is the PEM CA for the verifying modes (default: the system's roots).
/// `allow` is refused (postgres-nio cannot try plaintext first and TLS second).
public struct PostgresSettings: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    var password: String?
    public var database: String
    public var tlsMode: TLSMode = .prefer
    public var rootCertificatePath: String?
    /// libpq's `connect_timeout` (seconds): how long opening one connection may take.
    public var connectTimeout: Duration = .seconds(10)
    public var applicationName = "kato-server"

    /// Parses `url`; the error names what is wrong without repeating the password.
    public init(url: String) throws(PostgresSetupError) {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw PostgresSetupError(.invalidURL, "the PostgreSQL URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresSetupError(.invalidURL, "the PostgreSQL URL has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresSetupError(.invalidURL, "the PostgreSQL URL has no user name (postgres://USER@HOST/DATABASE)")
        }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresSetupError(.invalidURL, "the PostgreSQL port \(port) is out of range") }
        // URLComponents.user/password are percent-decoded already.
        self.username = user
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? user : path
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw PostgresSetupError(.invalidURL, "sslmode=\(value) is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tlsMode = mode
            case "sslrootcert":
                rootCertificatePath = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 1 else {
                    throw PostgresSetupError(.invalidURL, "connect_timeout=\(value) must be a whole number of seconds ≥ 1")
                }
                connectTimeout = .seconds(seconds)
            case "application_name":
                applicationName = value
            default:
                throw PostgresSetupError(.invalidURL, "the PostgreSQL URL option '\(item.name)' is not supported (sslmode, sslrootcert, connect_timeout, application_name)")
            }
        }
    }

    /// The URL with the password replaced by `***`: safe for logs and error messages.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        return "postgres://\(credentials)@\(host):\(port)/\(database) (sslmode=\(tlsMode.rawValue))"
    }

    /// The client TLS configuration `tlsMode` and `sslrootcert` ask for; nil for `disable`.
    /// Both the single connections and the pool use it (their TLS types differ).
    func tlsConfiguration() throws(PostgresSetupError) -> TLSConfiguration? {
        var config = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable: return nil
        case .prefer, .require: config.certificateVerification = .none
        case .verifyCA: config.certificateVerification = .noHostnameVerification
        case .verifyFull: config.certificateVerification = .fullVerification
        }
        if let rootCertificatePath {
            guard FileManager.default.isReadableFile(atPath: rootCertificatePath) else {
                throw PostgresSetupError(.invalidURL, "sslrootcert \(rootCertificatePath) cannot be read")
            }
            config.trustRoots = .file(rootCertificatePath)
        }
        return config
    }

    /// The TLS of one connection (postgres-nio wants a context built from the configuration).
    func tls() throws(PostgresSetupError) -> PostgresConnection.Configuration.TLS {
        guard let config = try tlsConfiguration() else { return .disable }
        do {
            let context = try NIOSSLContext(configuration: config)
            return tlsMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw PostgresSetupError(.tls, "cannot set up TLS for PostgreSQL: \(error)")
        }
    }

    /// One connection's configuration.
    func connectionConfiguration() throws(PostgresSetupError) -> PostgresConnection.Configuration {
        var c = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try tls())
        c.options.connectTimeout = .nanoseconds(connectTimeout.nanoseconds)
        c.options.additionalStartupParameters = [("application_name", applicationName)]
        return c
    }

    /// The connection pool's configuration.
    func poolConfiguration(size: Int) throws(PostgresSetupError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = try tlsConfiguration().map { tlsMode == .prefer ? .prefer($0) : .require($0) } ?? .disable
        var c = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        c.options.maximumConnections = size
        c.options.connectTimeout = connectTimeout
        // A learn is acknowledged after its COMMIT is durable, whatever the server's default.
        c.options.additionalStartupParameters = [("application_name", applicationName), ("synchronous_commit", "on")]
        return c
    }
}
