import Foundation
import XCTest

@testable import KatoServer

/// `CertificateExpiry` reads the served certificate's `notAfter` from the chain file: the leaf,
/// the first certificate, not the CA after it. Certificates made by openssl with known lifetimes.
final class CertificateExpiryTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cert-expiry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// A self-signed certificate valid for `days`, as PEM text.
    private func certificate(days: Int, name: String) throws -> String {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let openssl else {
            if ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") { XCTFail("openssl is missing (apt-get install openssl)") }
            throw XCTSkip("openssl is not installed")
        }
        let cert = directory.appendingPathComponent("\(name).pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", String(days),
                             "-subj", "/CN=\(name)", "-keyout", directory.appendingPathComponent("\(name).key").path, "-out", cert]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl req failed")
        return try String(contentsOfFile: cert, encoding: .utf8)
    }

    private func write(_ text: String) throws -> String {
        let path = directory.appendingPathComponent("chain-\(UUID().uuidString).pem").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testTheLeafFirstInTheChainGivesTheExpiryNotTheCAAfterIt() throws {
        let leaf = try certificate(days: 2, name: "leaf")
        let ca = try certificate(days: 30, name: "ca")
        let expiry = try XCTUnwrap(CertificateExpiry(chainPath: try write(leaf + ca)))
        XCTAssertEqual(expiry.notAfter.timeIntervalSinceNow, 2 * 86_400, accuracy: 300)
        let reversed = try XCTUnwrap(CertificateExpiry(chainPath: try write(ca + leaf)))
        XCTAssertEqual(reversed.notAfter.timeIntervalSinceNow, 30 * 86_400, accuracy: 300, "the first certificate is the one served")
    }

    func testTextAroundTheCertificateIsIgnored() throws {
        let leaf = try certificate(days: 5, name: "leaf")
        let expiry = try XCTUnwrap(CertificateExpiry(chainPath: try write("Subject: leaf\nsome note\n" + leaf + "\ntrailing words\n")))
        XCTAssertEqual(expiry.notAfter.timeIntervalSinceNow, 5 * 86_400, accuracy: 300)
    }

    func testAMissingFileOrOneWithoutACertificateGivesNone() throws {
        XCTAssertNil(CertificateExpiry(chainPath: directory.appendingPathComponent("absent.pem").path))
        XCTAssertNil(CertificateExpiry(chainPath: try write("no certificate here\n")))
        XCTAssertNil(CertificateExpiry(chainPath: try write("-----BEGIN CERTIFICATE-----\nnot base64 DER!\n-----END CERTIFICATE-----\n")))
        XCTAssertNil(CertificateExpiry(chainPath: try write("-----BEGIN CERTIFICATE-----\nMIIB\n")), "a certificate cut short")
    }
}
