import Foundation
import Metrics
import X509

/// `kato_tls_certificate_expiry_seconds`: seconds until the served TLS certificate (the leaf,
/// first in the chain file) expires, negative once it has; set at each scrape from its
/// `notAfter`, read once at start (a renewed certificate takes a restart, as TLS itself does).
/// Exported only when the server serves TLS.
struct CertificateExpiry: Sendable {
    let notAfter: Date
    static let gauge = Gauge(label: "kato_tls_certificate_expiry_seconds")

    /// The leaf of a PEM chain file; nil when it cannot be read (TLS setup reports that).
    init?(chainPath: String) {
        guard let text = try? String(contentsOfFile: chainPath, encoding: .utf8),
              let begin = text.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = text.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<text.endIndex),
              let leaf = try? Certificate(pemEncoded: String(text[begin.lowerBound..<end.upperBound]))
        else { return nil }
        notAfter = leaf.notValidAfter
    }

    func record(now: Date = Date()) {
        Self.gauge.record(notAfter.timeIntervalSince(now))
    }
}
