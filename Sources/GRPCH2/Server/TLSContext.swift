import NIOCore
import NIOSSL

/// TLS 1.2/1.3 with ALPN `h2` for the server, from PEM files (optional client CA for mTLS).
struct TLSContext: Sendable {
    let sslContext: NIOSSLContext

    init(configuration: ServerConfiguration.TLSConfiguration) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: configuration.privateKeyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["h2"]
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
