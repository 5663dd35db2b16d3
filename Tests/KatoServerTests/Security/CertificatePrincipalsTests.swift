import Foundation
import GRPCH2
import XCTest

@testable import KatoServer

/// Client certificates → principals: the subject read from DER, the subject strings a key file
/// may hold (RFC 4514 and OpenSSL's one-line form), fingerprints.
final class CertificatePrincipalsTests: XCTestCase {
    /// `openssl req -x509 -multivalue-rdn -utf8 -subj "/DC=org/DC=example/O=Exämple, Inc./OU=R&D+UID=42/CN=alice"`
    static let der = Array(Data(base64Encoded: """
        MIICQjCCAemgAwIBAgIUGuJj17W7Nkqh+Pvdoq7GXXNgvWkwCgYIKoZIzj0EAwIwdzETMBEGCgmSJomT8ixkARkWA29yZzEXMBUGCgmSJomT8ixkARkW\
        B2V4YW1wbGUxFzAVBgNVBAoMDkV4w6RtcGxlLCBJbmMuMR4wCgYDVQQLDANSJkQwEAYKCZImiZPyLGQBAQwCNDIxDjAMBgNVBAMMBWFsaWNlMB4XDTI2\
        MTEyNTE1MzEzNFoXDTM2MTEyMjE1MzEzNFowdzETMBEGCgmSJomT8ixkARkWA29yZzEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUxFzAVBgNVBAoMDkV4\
        w6RtcGxlLCBJbmMuMR4wCgYDVQQLDANSJkQwEAYKCZImiZPyLGQBAQwCNDIxDjAMBgNVBAMMBWFsaWNlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\
        T68TVy74KSSmHFWpBq7TATYrDPzBLTgnthNhEmfxatQJDFb+BfYHoEt9brGabqfPb/tKY+rRj80hGMQRhUDfN6NTMFEwHQYDVR0OBBYEFMhLqg2rS8my\
        mgdThMBWlftwqPduMB8GA1UdIwQYMBaAFMhLqg2rS8mymgdThMBWlftwqPduMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgGgE7AV98\
        lDcCpl8QKpBKkW1M6AVwNet7e48X08slBcMCIEM40DRVYtmL2WCF0MHWjilq7HmCygTPoU8OX9OhXQ86
        """)!)
    static let fingerprint = "D6:07:24:19:A4:65:B5:38:10:09:8F:30:17:E1:AA:FC:87:32:71:AB:A8:73:22:3E:47:C3:9F:F8:AA:2E:0A:A6"

    let alice = Principal(name: "alice", role: .writer, nodes: .init(["n1"]))

    func testSubjectIsReadFromTheCertificateInRFC4514Form() {
        let certificate = PeerCertificate(derBytes: Self.der)
        XCTAssertEqual(certificate.subject, #"CN=alice,OU=R&D+UID=42,O=Exämple\, Inc.,DC=example,DC=org"#)
    }

    func testSubjectAsOpenSSLPrintsItMatches() throws {
        let certificate = PeerCertificate(derBytes: Self.der)
        for text in [
            #"CN=alice,UID=42+OU=R&D,O=Ex\C3\A4mple\, Inc.,DC=example,DC=org"#,  // -nameopt RFC2253
            #"DC = org, DC = example, O = "Ex\C3\A4mple, Inc.", OU = R&D + UID = 42, CN = alice"#,  // default one-line form
            #"commonName=alice, userId=42+organizationalUnitName=R&D, O=Exämple\, Inc., dc=example, 0.9.2342.19200300.100.1.25=org"#,
        ] {
            var certificates = CertificatePrincipals()
            try certificates.add(subject: text, principal: alice)
            XCTAssertEqual(certificates.principal(for: certificate), alice, text)
        }
    }

    func testOtherSubjectsDoNotMatch() throws {
        let certificate = PeerCertificate(derBytes: Self.der)
        for text in ["CN=alice", "CN=alice,OU=R&D,O=Exämple\\, Inc.,DC=example,DC=org", "CN=Alice,OU=R&D+UID=42,O=Exämple\\, Inc.,DC=example,DC=org"] {
            var certificates = CertificatePrincipals()
            try certificates.add(subject: text, principal: alice)
            XCTAssertNil(certificates.principal(for: certificate), text)
        }
    }

    func testFingerprintMatchesWithOrWithoutColonsAndWinsOverTheSubject() throws {
        let certificate = PeerCertificate(derBytes: Self.der)
        let pinned = Principal(name: "pinned", role: .admin, nodes: .all)
        var certificates = CertificatePrincipals()
        try certificates.add(subject: "CN=alice,OU=R&D+UID=42,O=Exämple\\, Inc.,DC=example,DC=org", principal: alice)
        try certificates.add(sha256Fingerprint: Self.fingerprint.lowercased().replacingOccurrences(of: ":", with: ""), principal: pinned)
        XCTAssertEqual(certificates.principal(for: certificate), pinned)
        var other = CertificatePrincipals()
        try other.add(sha256Fingerprint: String(repeating: "ab", count: 32), principal: pinned)
        XCTAssertNil(other.principal(for: certificate))
    }

    func testKeyFileEntriesForCertificates() throws {
        let json = """
            [{"principal": "a", "cert_sha256": "\(Self.fingerprint)", "roles": ["writer"], "nodes": ["n1"]},
             {"principal": "b", "cert_subject": "CN=b,O=Example", "roles": ["reader"]},
             {"principal": "a", "key": "k1", "roles": ["writer"], "nodes": ["n1"]}]
            """
        let contents = try KeyFile.parseContents(Data(json.utf8))
        XCTAssertEqual(contents.keys.count, 1)
        XCTAssertEqual(contents.certificates.count, 2)
        XCTAssertEqual(contents.certificates.principal(for: PeerCertificate(derBytes: Self.der))?.name, "a")
        for bad in [
            #"[{"principal": "a", "cert_sha256": "12"}]"#,
            #"[{"principal": "a", "cert_subject": "alice"}]"#,
            #"[{"principal": "a", "cert_subject": "XX=alice"}]"#,
            #"[{"principal": "a", "cert_subject": "CN=a", "key": "k"}]"#,
            #"[{"principal": "a", "cert_subject": "CN=a"}, {"principal": "b", "cert_subject": "cn = a"}]"#,
        ] {
            XCTAssertThrowsError(try KeyFile.parseContents(Data(bad.utf8)), bad)
        }
    }

    func testEscapingRoundTrips() throws {
        let rdns = try CertificatePrincipals.parse(subject: ##"CN=\#a\, b\+c\"d\\e\ ,O=\20x"##)
        XCTAssertEqual(rdns.map { $0.map(\.value) }, [[#"#a, b+c"d\e "#], [" x"]])
        XCTAssertEqual(DistinguishedName.format(rdns), ##"CN=\#a\, b\+c\"d\\e\ ,O=\ x"##)
    }

    func testGarbageIsNotACertificate() {
        XCTAssertEqual(PeerCertificate(derBytes: [0x30, 0x03, 0x02, 0x01]).subject, "")
        XCTAssertNil(DistinguishedName.subject(ofCertificate: Array(Self.der.prefix(40))))
    }
}
