import Foundation
import GRPCH2
import KatoSupport
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
        /// The last API key each thread presented successfully (see `APIKeyCache`). It lives
        /// and dies with these keys: a reload makes a new box (with an empty cache) and empties
        /// the old one.
        let keyCache = APIKeyCache()
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
        previous.takeUnretainedValue().keyCache.removeAll()
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
    private var currentBox: Box { box.load(ordering: .acquiring).takeUnretainedValue() }

    /// What `check` found: a principal, or a JWT still to verify (asynchronously).
    enum Credential {
        case principal(Principal)
        case jwt(String, JWTVerifier)
    }

    /// The caller's principal; throws `KatoError.unauthenticated` for missing or bad credentials.
    ///
    /// Explicit credentials win: a call that sends `x-api-key` or `authorization` is judged by
    /// them alone (a bad key fails even on a connection with a mapped certificate). Only a call
    /// without them is authenticated by `certificate`, the connection's verified client
    /// certificate, which must be mapped in the key file (else `CERTIFICATE_UNKNOWN`).
    public func authenticate(_ metadata: Metadata, certificate: PeerCertificate? = nil) async throws(KatoError) -> Principal {
        switch try check(metadata, certificate: certificate) {
        case .principal(let principal): return principal
        case .jwt(let token, let verifier): return try await verifier.verify(token)
        }
    }

    /// `authenticate` without suspending: everything but a JWT's verification (API keys and
    /// certificates are judged here; a JWT comes back with its verifier).
    func check(_ metadata: Metadata, certificate: PeerCertificate?) throws(KatoError) -> Credential {
        let box = currentBox
        let current = box.snapshot
        if let key = metadata.first(lowercasedKey: "x-api-key") {
            guard let principal = Self.principal(forKey: Substring(key), box) else {
                throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "unknown API key")
            }
            return .principal(principal)
        }
        guard let header = metadata.first(lowercasedKey: "authorization") else {
            if let certificate {
                guard let principal = current.certificates.principal(for: certificate) else {
                    throw .unauthenticated(
                        reason: "CERTIFICATE_UNKNOWN",
                        message: "the client certificate is not mapped to a principal; send 'authorization: Bearer <key or JWT>' or 'x-api-key'")
                }
                return .principal(principal)
            }
            throw .unauthenticated(reason: "CREDENTIALS_MISSING", message: "no credentials: send 'authorization: Bearer <key or JWT>' or 'x-api-key'")
        }
        guard let token = Self.bearerToken(header) else {
            throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "authorization must be 'Bearer <key or JWT>'")
        }
        if let jwt = current.jwt, Self.isJWTShaped(token) {
            return .jwt(String(token), jwt)
        }
        guard let principal = Self.principal(forKey: token, box) else {
            throw .unauthenticated(reason: "CREDENTIALS_INVALID", message: "unknown API key or invalid token")
        }
        return .principal(principal)
    }

    /// An API key's principal: from this thread's cache when it presented the same key last
    /// (compared in constant time), else hashed and looked up (and then cached).
    static func principal(forKey key: Substring, _ box: Box) -> Principal? {
        if let hit = box.keyCache.principal(forKey: key.utf8) { return hit }
        let bytes = Array(key.utf8)
        guard let principal = box.snapshot.keys.principal(forKeyBytes: bytes) else { return nil }
        box.keyCache.store(bytes, principal)
        return principal
    }

    /// The token of `Bearer <token>` (scheme case-insensitive), without the whitespace around
    /// it: the characters Foundation's `.whitespaces` trims (tab and the Unicode space
    /// separators), found on the UTF-8 bytes. Nil unless the header is longer than `Bearer `.
    static func bearerToken(_ header: String) -> Substring? {
        let utf8 = header.utf8
        let bytes = utf8.span  // bounds-checked view of the contiguous UTF-8, indexed by offset
        guard bytes.count > 7 else { return nil }
        for i in 0..<7 {
            let b = bytes[i], expected = bearerScheme[i]
            // ASCII letters fold to lower case with 0x20; the space must be exact.
            guard b == expected || (expected != 0x20 && b | 0x20 == expected) else { return nil }
        }
        // ASCII fast path: trim spaces and tabs; anything non-ASCII at an end goes by scalar.
        var start = 7, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        let nonASCIIEnd = start < end && (bytes[start] >= 0x80 || bytes[end - 1] >= 0x80)
        // Both offsets sit next to ASCII bytes (or at the ends), so on scalar boundaries.
        var rest = header[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)]
        if nonASCIIEnd {
            var scalars = rest.unicodeScalars
            while let s = scalars.first, isTrimmed(s) { scalars = scalars.dropFirst() }
            while let s = scalars.last, isTrimmed(s) { scalars = scalars.dropLast() }
            rest = Substring(scalars)
        }
        return rest
    }

    private static let bearerScheme: [UInt8] = Array("bearer ".utf8)

    /// Foundation's `CharacterSet.whitespaces`: tab and the space separators (Zs).
    static func isTrimmed(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s.properties.generalCategory == .spaceSeparator
    }

    /// Three dot-separated parts (two `.`), as a JWT has.
    static func isJWTShaped(_ token: Substring) -> Bool {
        var dots = 0
        for b in token.utf8 where b == UInt8(ascii: ".") { dots += 1 }
        return dots == 2
    }

    static func read(_ path: String) throws -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw KeyFileError.unreadable("\(path): \(error.localizedDescription)")
        }
    }
}

/// Per thread (hashed from `pthread_self`, as `KeyedRateLimiter`'s caches), the raw bytes of the
/// last API key that authenticated and its principal, so a client presenting the same key call
/// after call skips the SHA-256. A presented key is compared with the cached one in constant
/// time (the time depends on the presented length only). Only keys that matched are cached;
/// the bytes stay in process memory (never logged or written) and go when the keys are
/// reloaded (`Authenticator.reload` empties the old cache) or the server stops.
final class APIKeyCache: Sendable {
    struct Slot {
        var key: [UInt8]
        var principal: Principal
    }

    final class Shard: Sendable {
        let slot = Mutex<Slot?>(nil)
    }

    private let slots: [Shard]

    init(shards: Int = 16) {
        slots = (0..<shards).map { _ in Shard() }
    }

    func principal(forKey presented: Substring.UTF8View) -> Principal? {
        slots[ThreadShard.index(count: slots.count)].slot.withLock { slot -> Principal? in
            guard let slot, Self.constantTimeEquals(slot.key, presented) else { return nil }
            return slot.principal
        }
    }

    func store(_ key: [UInt8], _ principal: Principal) {
        slots[ThreadShard.index(count: slots.count)].slot.withLock { $0 = Slot(key: key, principal: principal) }
    }

    func removeAll() {
        for shard in slots { shard.slot.withLock { $0 = nil } }
    }

    /// Every presented byte is compared (cycling over the cached ones), whatever differs first
    /// and whatever the cached key's length.
    static func constantTimeEquals(_ cached: [UInt8], _ presented: Substring.UTF8View) -> Bool {
        guard !cached.isEmpty else { return false }
        let bytes = presented.span  // contiguous, bounds-checked (no per-byte index arithmetic)
        var diff: UInt8 = cached.count == bytes.count ? 0 : 1
        var i = 0
        for position in bytes.indices {
            diff |= bytes[position] ^ cached[i]
            i += 1
            if i == cached.count { i = 0 }
        }
        return diff == 0
    }
}

extension Metadata {
    /// The first string value of `key`, which must be lower case already (no `lowercased()`
    /// per lookup, unlike `firstString(forKey:)`; received keys are stored lower case).
    func first(lowercasedKey key: String) -> String? {
        for entry in self where entry.key == key {
            if case .string(let s) = entry.value { return s }
        }
        return nil
    }
}
