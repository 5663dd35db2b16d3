import Foundation
import JWTKit

/// Verifies JWTs with jwt-kit: HS256 with a shared secret, RS256 or ES256 with a PEM public
/// key. The algorithm is pinned by the configured keys (a token whose `alg` names no configured
/// key, or `none`, is refused); `exp` is required, `nbf`, `aud` and `iss` are checked.
///
/// Claims: `sub` names the principal, `roles` (list of `reader`/`writer`/`admin`, or `role`)
/// and `nodes` (list of node ids, `"*"` for all) give its rights.
public struct JWTVerifier: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// HS256 shared secret (bytes of the secret file, trailing newline removed).
        public var hs256Secret: [UInt8]?
        /// PEM public key, RSA (RS256) or EC P-256 (ES256).
        public var publicKeyPEM: String?
        /// When set, `aud` must contain it.
        public var audience: String?
        /// When set, `iss` must equal it.
        public var issuer: String?

        public init(hs256Secret: [UInt8]? = nil, publicKeyPEM: String? = nil, audience: String? = nil, issuer: String? = nil) {
            self.hs256Secret = hs256Secret
            self.publicKeyPEM = publicKeyPEM
            self.audience = audience
            self.issuer = issuer
        }

        public var hasKeys: Bool { hs256Secret != nil || publicKeyPEM != nil }
    }

    struct Payload: JWTPayload {
        var sub: SubjectClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var roles: [String]?
        var role: String?
        var nodes: [String]?

        // Claims are checked by `JWTVerifier.verify` so that each failure gets its own reason.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct Header: Decodable {
        var alg: String
    }

    let configuration: Configuration
    /// One collection per algorithm name: the token's `alg` picks it.
    let keys: [String: JWTKeyCollection]

    public init(configuration: Configuration) async throws {
        self.configuration = configuration
        var keys: [String: JWTKeyCollection] = [:]
        if let secret = configuration.hs256Secret {
            guard secret.count >= 32 else { throw KeyFileError.invalid("the HS256 secret must have at least 32 bytes") }
            keys["HS256"] = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        }
        if let pem = configuration.publicKeyPEM {
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                keys["RS256"] = await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256)
            } else if let ec = try? ES256PublicKey(pem: pem) {
                keys["ES256"] = await JWTKeyCollection().add(ecdsa: ec)
            } else {
                throw KeyFileError.invalid("the JWT public key is neither an RSA nor a P-256 EC public key (PEM)")
            }
        }
        self.keys = keys
    }

    /// The principal a valid token names; throws `KatoError.unauthenticated` otherwise.
    public func verify(_ token: String, now: Date = Date()) async throws(KatoError) -> Principal {
        guard let alg = Self.algorithm(of: token) else {
            throw .unauthenticated(reason: "TOKEN_INVALID", message: "malformed JWT")
        }
        guard let collection = keys[alg] else {
            throw .unauthenticated(reason: "TOKEN_INVALID", message: "JWT algorithm '\(alg)' is not accepted")
        }
        let payload: Payload
        do {
            payload = try await collection.verify(token, as: Payload.self)
        } catch {
            throw .unauthenticated(reason: "TOKEN_INVALID", message: "JWT signature or encoding is invalid")
        }
        guard let exp = payload.exp else {
            throw .unauthenticated(reason: "TOKEN_INVALID", message: "JWT has no exp claim")
        }
        do { try exp.verifyNotExpired(currentDate: now) } catch {
            throw .unauthenticated(reason: "TOKEN_EXPIRED", message: "JWT has expired")
        }
        if let nbf = payload.nbf {
            do { try nbf.verifyNotBefore(currentDate: now) } catch {
                throw .unauthenticated(reason: "TOKEN_NOT_YET_VALID", message: "JWT is not valid yet (nbf)")
            }
        }
        if let audience = configuration.audience {
            do {
                guard let aud = payload.aud else { throw KeyFileError.invalid("no aud") }
                try aud.verifyIntendedAudience(includes: audience)
            } catch {
                throw .unauthenticated(reason: "TOKEN_AUDIENCE", message: "JWT audience does not include '\(audience)'")
            }
        }
        if let issuer = configuration.issuer, payload.iss?.value != issuer {
            throw .unauthenticated(reason: "TOKEN_ISSUER", message: "JWT issuer is not '\(issuer)'")
        }
        guard let subject = payload.sub?.value, !subject.isEmpty else {
            throw .unauthenticated(reason: "TOKEN_INVALID", message: "JWT has no sub claim")
        }
        let roleNames = (payload.roles ?? []) + (payload.role.map { [$0] } ?? [])
        let roles = roleNames.compactMap(Role.init(rawValue:))
        return Principal(name: subject, roles: roles, nodes: .init(payload.nodes ?? []))
    }

    /// The `alg` of the token's JOSE header, or nil when the token is malformed.
    static func algorithm(of token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = base64URLDecode(parts[0]) else { return nil }
        return try? JSONDecoder().decode(Header.self, from: header).alg
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s.append("=") }
        return Data(base64Encoded: s)
    }
}
