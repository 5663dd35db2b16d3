/// The client certificate a mutual-TLS connection verified against its client CA, captured
/// once per connection after the handshake and shared (by reference) by all its calls.
/// The transport reads it (`GRPCH2`'s `TLSContext`); the core only carries it to handlers.
public final class PeerCertificate: Sendable {
    /// The certificate, DER-encoded (hash it for a fingerprint).
    public let derBytes: [UInt8]
    /// The subject as an RFC 4514 string, most specific part first (`CN=alice,O=Example`);
    /// empty when the certificate cannot be read.
    public let subject: String

    public init(derBytes: [UInt8], subject: String) {
        self.derBytes = derBytes
        self.subject = subject
    }
}
