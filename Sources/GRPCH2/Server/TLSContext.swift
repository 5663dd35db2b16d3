import GRPCH2Core
import NIOCore
import NIOSSL

/// TLS 1.2/1.3 with ALPN `h2` (and `http/1.1` with the web protocols) for the server, from PEM files (optional client CA for mTLS).
struct TLSContext: Sendable {
    let sslContext: NIOSSLContext

    /// `offerHTTP1`: ALPN offers `http/1.1` after `h2`, for the web protocols.
    init(configuration: ServerConfiguration.TLSConfiguration, offerHTTP1: Bool = false) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: configuration.privateKeyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = offerHTTP1 ? ["h2", "http/1.1"] : ["h2"]
        if let ca = configuration.clientCAPath {
            tls.trustRoots = .file(ca)
            tls.certificateVerification = .noHostnameVerification
        }
        sslContext = try NIOSSLContext(configuration: tls)
    }

    func addHandlers(to channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
    }
}

extension TLSContext {
    /// The peer's verified certificate, once the handshake has completed (NIOSSL then fires
    /// `TLSUserEvent.handshakeCompleted`, the first user event of a TLS connection; a failed
    /// verification closes the connection instead). Nil before that or when the client sent none.
    static func peerCertificate(pipeline: ChannelPipeline) -> PeerCertificate? {
        guard let certificate = try? pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes()
        else { return nil }
        return PeerCertificate(derBytes: der)
    }
}

extension PeerCertificate {
    /// The certificate with its subject read by `DistinguishedName` (RFC 4514, most specific first).
    public convenience init(derBytes: [UInt8]) {
        self.init(
            derBytes: derBytes,
            subject: DistinguishedName.subject(ofCertificate: derBytes).map { DistinguishedName.format($0.reversed()) } ?? "")
    }
}
