import Crypto
import Foundation
import GRPCH2Core
import XCTest

@testable import KatoServer

/// The key file maps API keys (plain or as SHA-256) and client certificates (fingerprint or
/// subject) to principals; a list or `{"keys": [...]}`; every malformed entry is refused with
/// its index, never half-loaded.
final class KeyFileTests: XCTestCase {
    static func contents(_ json: String) throws -> KeyFile.Contents {
        try KeyFile.parseContents(Data(json.utf8))
    }

    static func refusal(_ json: String) -> String? {
        do {
            _ = try contents(json)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func testKeysPlainOrHashedMapToTheirPrincipalsRolesAndNodes() throws {
        let keys = try KeyFile.parse(Data("""
            [{"key": "k-plain", "principal": "alice", "roles": ["writer"], "nodes": ["n1"]},
             {"key_sha256": "\(Self.sha256Hex("k-hashed"))", "principal": "bob", "roles": ["reader", "admin"], "nodes": ["*"]},
             {"key": "k-default", "principal": "carol"}]
            """.utf8))
        XCTAssertEqual(keys.count, 3)
        let alice = try XCTUnwrap(keys.principal(forKey: "k-plain"))
        XCTAssertEqual([alice.name, alice.role.rawValue], ["alice", "writer"])
        XCTAssertTrue(alice.mayUse(node: "n1"))
        XCTAssertFalse(alice.mayUse(node: "n2"))
        XCTAssertEqual(keys.principal(forKey: "k-hashed")?.role, .admin, "several roles: the highest")
        XCTAssertEqual(keys.principal(forKey: "k-default")?.role, .reader, "no roles: reader")
        XCTAssertNil(keys.principal(forKey: "k-other"))
    }

    func testTheWrappedFormAndCertificateEntriesAreRead() throws {
        let der: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
        let fingerprint = SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
        let contents = try Self.contents("""
            {"keys": [{"cert_sha256": "\(fingerprint)", "principal": "svc"},
                      {"cert_subject": "CN=alice,O=Example", "principal": "alice-cert", "roles": ["writer"]}]}
            """)
        XCTAssertTrue(contents.keys.isEmpty)
        XCTAssertEqual(contents.certificates.count, 2)
        XCTAssertEqual(contents.certificates.principal(for: PeerCertificate(derBytes: der, subject: ""))?.name, "svc")
        XCTAssertEqual(contents.certificates.principal(for: PeerCertificate(derBytes: [1], subject: "CN=alice,O=Example"))?.name,
                       "alice-cert")
    }

    func testMalformedFilesAndEntriesAreRefusedNamingTheEntry() {
        XCTAssertTrue(Self.refusal("not json")?.hasPrefix("invalid key file: expected a JSON list") ?? false)
        XCTAssertTrue(Self.refusal(#"[{"key": "k", "principal": ""}]"#)?.contains("entry 0: principal is required") ?? false)
        XCTAssertTrue(Self.refusal(#"[{"principal": "p", "key": "k"}, {"key": "", "principal": "q"}]"#)?.contains("entry 1: key is empty") ?? false)
        XCTAssertTrue(Self.refusal(#"[{"key": "k", "key_sha256": "00", "principal": "p"}]"#)?.contains("give exactly one of") ?? false)
        XCTAssertTrue(Self.refusal(#"[{"principal": "p"}]"#)?.contains("entry 0 (p)") ?? false)
        XCTAssertNotNil(Self.refusal(#"[{"key_sha256": "not-hex", "principal": "p"}]"#))
        XCTAssertNotNil(Self.refusal(#"[{"key": "k", "principal": "p", "roles": ["root"]}]"#), "an unknown role")
    }

    func testAFileThatCannotBeReadIsUnreadableWithItsPath() {
        XCTAssertThrowsError(try KeyFile.load(path: "/nonexistent/keys.json")) { error in
            guard case .unreadable(let message)? = error as? KeyFileError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("/nonexistent/keys.json"), message)
        }
    }
}
