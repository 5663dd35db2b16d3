import Crypto
import Foundation
import SwiftASN1
import X509
import XCTest

@testable import GRPCH2

/// Certificate subjects now come from swift-certificates; `cert_subject` strings already in
/// key files must keep matching. Each case is a real certificate made by openssl (or, for
/// values openssl's `-subj` cannot write, by swift-certificates), read by the new parser and
/// by the hand-written one it replaced (LegacySubjectParser), and the two strings compared,
/// plus the expected string itself.
final class DistinguishedNameTests: XCTestCase {
    private func subjects(_ der: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> (new: String, old: String) {
        let new = DistinguishedName.subject(ofCertificate: der).map { DistinguishedName.format($0.reversed()) }
        let old = LegacySubjectParser.subject(ofCertificate: der).map { DistinguishedName.format($0.reversed()) }
        XCTAssertNotNil(new, "swift-certificates could not read the certificate", file: file, line: line)
        return (new ?? "<nil>", old ?? "<nil>")
    }

    /// A self-signed certificate from `openssl req -x509` with this `-subj`, as DER.
    private func opensslCertificate(subject: String, options: [String] = [], config: String? = nil) throws -> [UInt8] {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let openssl else {
            if ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") { XCTFail("openssl is missing (apt-get install openssl)") }
            throw XCTSkip("openssl is not installed")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                         "-keyout", dir.appendingPathComponent("key.pem").path, "-outform", "DER",
                         "-out", dir.appendingPathComponent("cert.der").path, "-subj", subject] + options
        if let config {
            try config.write(to: dir.appendingPathComponent("openssl.cnf"), atomically: true, encoding: .utf8)
            arguments += ["-config", dir.appendingPathComponent("openssl.cnf").path]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: message, as: UTF8.self))
        return [UInt8](try Data(contentsOf: dir.appendingPathComponent("cert.der")))
    }

    private func assertSameSubject(_ subject: String, options: [String] = [], config: String? = nil, expected: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let (new, old) = subjects(try opensslCertificate(subject: subject, options: options, config: config), file: file, line: line)
        XCTAssertEqual(new, old, "new and legacy parsers disagree", file: file, line: line)
        XCTAssertEqual(new, expected, file: file, line: line)
    }

    func testPlainSubjectsKeepTheirString() throws {
        try assertSameSubject("/C=US/ST=CA/L=Palo Alto/O=Example/OU=Eng/CN=alice", expected: "CN=alice,OU=Eng,O=Example,L=Palo Alto,ST=CA,C=US")
        try assertSameSubject("/DC=org/DC=example/UID=u42/emailAddress=a@example.org/CN=svc",
                              expected: "CN=svc,EMAILADDRESS=a@example.org,UID=u42,DC=example,DC=org")
    }

    func testSpecialCharactersAreEscapedAsBefore() throws {
        try assertSameSubject(#"/O=Example, Inc./OU=R&D; ops/CN=a\+b <c> "d" \\e"#,
                              expected: #"CN=a\+b \<c\> \"d\" \\e,OU=R&D\; ops,O=Example\, Inc."#)
        try assertSameSubject("/CN=#leading hash/O= padded /OU=x", expected: ##"OU=x,O=\ padded\ ,CN=\#leading hash"##)
    }

    func testMultiValuedRDNsAreSortedAndJoinedByPlus() throws {
        try assertSameSubject("/O=Example/OU=ops+CN=bob+UID=b7", options: ["-multivalue-rdn"], expected: "CN=bob+OU=ops+UID=b7,O=Example")
    }

    func testTypesGivenByOIDGetTheirShortName() throws {
        try assertSameSubject("/2.5.4.12=Engineer/CN=x", expected: "CN=x,TITLE=Engineer")
    }

    func testNonASCIIUTF8AndBMPStrings() throws {
        try assertSameSubject("/O=東京/CN=Zoë", options: ["-utf8"], expected: "CN=Zoë,O=東京")
        // string_mask MASK:0x800: openssl writes every value as a BMPString (UTF-16BE).
        let bmp = "[req]\ndistinguished_name = dn\nstring_mask = MASK:0x800\n[dn]\n"
        try assertSameSubject("/O=Ünïcode/CN=bmp", options: ["-utf8"], config: bmp, expected: "CN=bmp,O=Ünïcode")
    }

    func testUnknownOIDsAndNonStringValues() throws {
        // openssl's -subj drops unknown OIDs and cannot write an INTEGER or a BIT STRING value:
        // swift-certificates makes this certificate. Non-string values take the `#`-hex form of
        // their DER encoding, whose `#` the legacy writer escaped like any leading `#`: kept so.
        let key = P256.Signing.PrivateKey()
        var integer = DER.Serializer()
        try integer.serialize(5)
        var bits = DER.Serializer()
        try bits.serialize(ASN1BitString(bytes: [0xA5]))
        let name = try X509.DistinguishedName([
            RelativeDistinguishedName(.init(type: [1, 2, 3, 4], value: try ASN1Any(derEncoded: integer.serializedBytes))),
            RelativeDistinguishedName(.init(type: [2, 5, 4, 45], value: try ASN1Any(derEncoded: bits.serializedBytes))),
            RelativeDistinguishedName(.init(type: [1, 2, 3, 4, 5], utf8String: "custom value")),
            RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: "x")),
        ])
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now, notValidAfter: now + 60,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key))
        var der = DER.Serializer()
        try der.serialize(certificate)
        let (new, old) = subjects(der.serializedBytes)
        XCTAssertEqual(new, old)
        XCTAssertEqual(new, ##"CN=x,1.2.3.4.5=custom value,2.5.4.45=\#030200a5,1.2.3.4=\#020105"##)
    }

    func testBytesThatAreNotACertificateHaveNoSubject() {
        XCTAssertNil(DistinguishedName.subject(ofCertificate: []))
        XCTAssertNil(DistinguishedName.subject(ofCertificate: [0x30, 0x03, 0x02, 0x01, 0x05]))
        XCTAssertEqual(PeerCertificate(derBytes: [0x01, 0x02]).subject, "")
    }
}
