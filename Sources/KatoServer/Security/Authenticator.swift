import Foundation
import GRPCH2
import Logging
import Synchronization

/// Turns a call's credentials into a `Principal`: API keys (`authorization: Bearer <key>` or
/// `x-api-key: <key>`) from the key file, JWTs (`authorization: Bearer <jwt>`), and, when the
/// call sends neither, the connection's verified client certificate (mutual TLS) as mapped by
/// the key file. `reload()` re-reads every file (SIGHUP); calls in flight keep the keys they
/// started with.
public final class Authenticator: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The API key file (see `KeyFile`).
        public var keyFile: String?
        /// A file holding the HS256 secret (at least 32 bytes).
        public var jwtHS256SecretFile: String?
        /// A PEM public key (RSA for RS256, EC P-256 for ES256).
        public var jwtPublicKeyFile: String?
        public var jwtAudience: String?
        public var jwtIssuer: String?

        public init() {}

        /// Whether any credential source is configured (authentication is on).
        public var isConfigured: Bool { keyFile != nil || jwtHS256SecretFile != nil || jwtPublicKeyFile != nil }
    }

    struct Snapshot: Sendable {
        var keys = APIKeyStore()
        var certificates = CertificatePrincipals()
        var jwt: JWTVerifier?
    }

    /// Holds one set of keys; kept until the authenticator goes, so a reader needs no lock
    /// (see `current`).
    final class Box: Sendable {
        let snapshot: Snapshot
        init(_ snapshot: Snapshot) { self.snapshot = snapshot }
    }

    public let configuration: Configuration
    /// The keys in force. Every call reads it, so it is an atomic pointer rather than a lock
    /// (a contended lock costs a futex round trip on Linux). A reload publishes a new box and
    /// keeps the old one in `retired` (a few KB per SIGHUP), so a reader never sees it freed;
    /// all are released with the authenticator.
    private let box = Atomic<Unmanaged<Box>>(Unmanaged.passRetained(Box(Snapshot())))
    /// Boxes replaced by `reload`, kept alive (and reachable, so leak checkers stay quiet).
    private let retired = Mutex<[Unmanaged<Box>]>([])

    private init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Loads every configured file; throws when one is missing or invalid.
    public static func load(_ configuration: Configuration) async throws -> Authenticator {
        let authenticator = Authenticator(configuration: configuration)
        try await authenticator.reload()
        return authenticator
    }

    /// Re-reads the key file and the JWT keys. On failure the previous keys stay in force.
    public func reload() async throws {
        var next = Snapshot()
        if let path = configuration.keyFile {
            let contents = try KeyFile.loadContents(path: path)
            next.keys = contents.keys
            next.certificates = contents.certificates
        }
        var jwt = JWTVerifier.Configuration(audience: configuration.jwtAudience, issuer: configuration.jwtIssuer)
        if let path = configuration.jwtHS256SecretFile {
            var secret = try Self.read(path)
            while let last = secret.last, last == 0x0A || last == 0x0D { secret.removeLast() }
            jwt.hs256Secret = secret
        }
        if let path = configuration.jwtPublicKeyFile {
            jwt.publicKeyPEM = String(decoding: try Self.read(path), as: UTF8.self)
        }
        if jwt.hasKeys { next.jwt = try await JWTVerifier(configuration: jwt) }
        let previous = box.exchange(Unmanaged.passRetained(Box(next)), ordering: .acquiringAndReleasing)
        retired.withLock { $0.append(previous) }
    }

    deinit {
        box.load(ordering: .acquiring).release()
        for old in retired.withLock({ $0 }) { old.release() }
    }

    /// Number of API keys in force.
    public var keyCount: Int { current.keys.count }

    /// Number of client-certificate mappings in force.
    public var certificateCount: Int { current.certificates.count }

    private var current: Snapshot { box.load(ordering: .acquiring).takeUnretainedValue().snapshot }

    /// The caller's principal; throws `KatoError.unauthenticated` for missing or bad credentials.
    ///
    /// Explicit credentials win: a call that sends `x-api-key` or `authorization` is judged by
    /// them alone (a bad key fails even on a connection with a mapped certificate). Only a call
    /// without them is authenticated by `certificate`, the connection's verified client
    /// certificate, which must be mapped in the key file (else `CERTIFICATE_UNKNOWN`).
    public func authenticate(_ metadata: Metadata, certificate: PeerCertificate? = nil) async throws(KatoError) -> Principal {
        let current = self.current
        if let key = metadata.firstString(forKey: "x-api-key") {
            guard let principal = current.keys.principal(forKey: key) else {
                throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "unknown API key")
            }
            return principal
        }
        guard let header = metadata.firstString(forKey: "authorization") else {
            if let certificate {
                guard let principal = current.certificates.principal(for: certificate) else {
                    throw .unauthenticated(
                        reason: "CERTIFICATE_UNKNOWN",
                        message: "the client certificate is not mapped to a principal; send 'authorization: Bearer <key or JWT>' or 'x-api-key'")
                }
                return principal
            }
            throw .unauthenticated(reason: "CREDENTIALS_MISSING", message: "no credentials: send 'authorization: Bearer <key or JWT>' or 'x-api-key'")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "authorization must be 'Bearer <key or JWT>'")
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if let jwt = current.jwt, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
            return try await jwt.verify(token)
        }
        guard let principal = current.keys.principal(forKey: token) else {
            throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "unknown API key or invalid token")
        }
        return principal
    }

    static func read(_ path: String) throws -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw KeyFileError.unreadable("\(path): \(error.localizedDescription)")
        }
    }
}
