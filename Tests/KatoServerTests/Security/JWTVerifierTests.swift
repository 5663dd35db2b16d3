import Foundation
import JWTKit
import XCTest

@testable import KatoServer

final class JWTVerifierTests: XCTestCase {
    let secret = Array(String(repeating: "k", count: 32).utf8)

    struct Claims: JWTPayload {
        var sub: SubjectClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var roles: [String]?
        var nodes: [String]?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func claims(exp: TimeInterval = 300, nbf: TimeInterval? = nil, aud: String? = "kato", iss: String? = "me") -> Claims {
        Claims(
            sub: .init(value: "jay"), exp: .init(value: Date().addingTimeInterval(exp)),
            nbf: nbf.map { .init(value: Date().addingTimeInterval($0)) }, iss: iss.map { .init(value: $0) },
            aud: aud.map { .init(value: [$0]) }, roles: ["writer"], nodes: ["n1"])
    }

    func sign(_ c: Claims, secret: [UInt8]? = nil) async throws -> String {
        let keys = await JWTKeyCollection().add(hmac: HMACKey(from: secret ?? self.secret), digestAlgorithm: .sha256)
        return try await keys.sign(c)
    }

    func verifier() async throws -> JWTVerifier {
        try await JWTVerifier(configuration: .init(hs256Secret: secret, audience: "kato", issuer: "me"))
    }

    func reason(_ token: String) async throws -> String? {
        let verifier = try await verifier()
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error.reason
        }
    }

    func testAValidTokenNamesItsPrincipal() async throws {
        let principal = try await verifier().verify(try await sign(claims()))
        XCTAssertEqual(principal, Principal(name: "jay", role: .writer, nodes: .only(["n1"])))
    }

    func testClaimsAreChecked() async throws {
        let expired = try await reason(try await sign(claims(exp: -5)))
        XCTAssertEqual(expired, "TOKEN_EXPIRED")
        let early = try await reason(try await sign(claims(nbf: 600)))
        XCTAssertEqual(early, "TOKEN_NOT_YET_VALID")
        let audience = try await reason(try await sign(claims(aud: "other")))
        XCTAssertEqual(audience, "TOKEN_AUDIENCE")
        let issuer = try await reason(try await sign(claims(iss: "other")))
        XCTAssertEqual(issuer, "TOKEN_ISSUER")
    }

    func testForgedAndMalformedTokensAreInvalid() async throws {
        let forged = try await reason(try await sign(claims(), secret: Array(String(repeating: "x", count: 32).utf8)))
        XCTAssertEqual(forged, "TOKEN_INVALID")
        let malformed = try await reason("a.b")
        XCTAssertEqual(malformed, "TOKEN_INVALID")
        let header = "{\"alg\":\"none\"}".data(using: .utf8)!.base64EncodedString()
        let none = try await reason(header + ".e30.")
        XCTAssertEqual(none, "TOKEN_INVALID")
    }

    func testShortSecretsAreRefused() async {
        do {
            _ = try await JWTVerifier(configuration: .init(hs256Secret: Array("short".utf8)))
            XCTFail("accepted a 5-byte secret")
        } catch {}
    }
}
