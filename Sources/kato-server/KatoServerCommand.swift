import ArgumentParser
import Foundation
import GRPCH2
import KatoServer
import Logging

/// `kato-server`: serves kato.v2 over gRPC. Every flag is also read from `KATO_<FLAG>`
/// (e.g. `KATO_PORT`) and from `--config FILE` (JSON); flags win over the environment,
/// which wins over the file.
@main
struct KatoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kato-server",
        abstract: "The KATO sequence-learning and prediction engine, served over gRPC.")

    @Option(help: "Address to listen on (KATO_HOST).") var host: String?
    @Option(help: "gRPC port; 0 picks a free one (KATO_PORT).") var port: Int?
    @Option(name: .customLong("admin-port"), help: "Admin HTTP port for /metrics and /health (KATO_ADMIN_PORT).") var adminPort: Int?
    @Option(name: .customLong("data-dir"), help: "Data directory (KATO_DATA_DIR).") var dataDir: String?
    @Option(help: "Configuration file, JSON (KATO_CONFIG).") var config: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; enables TLS (KATO_TLS_CERT).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key (KATO_TLS_KEY).") var tlsKey: String?
    @Option(name: .customLong("tls-client-ca"), help: "PEM CA for client certificates (mTLS) (KATO_TLS_CLIENT_CA).") var tlsClientCA: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (KATO_LOG_LEVEL).") var logLevel: String?
    @Option(name: .customLong("session-cleanup-seconds"), help: "How often expired sessions are removed (KATO_SESSION_CLEANUP_SECONDS).") var sessionCleanupSeconds: Int?

    func run() async throws {
        let settings = try Settings(command: self)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        var logger = Logger(label: "kato-server")
        logger.logLevel = settings.logLevel

        var configuration = KatoServerApp.Configuration()
        configuration.grpc.host = settings.host
        configuration.grpc.port = settings.port
        if let cert = settings.tlsCert, let key = settings.tlsKey {
            configuration.grpc.tls = .init(certificateChainPath: cert, privateKeyPath: key, clientCAPath: settings.tlsClientCA)
        } else if settings.tlsCert != nil || settings.tlsKey != nil {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        configuration.sessions.cleanupInterval = .seconds(settings.sessionCleanupSeconds)

        let app = try KatoServerApp(configuration: configuration, logger: logger)
        let (host, port) = try await app.start()
        print("listening on \(host):\(port)")
        fflush(nil)
        logger.info("kato-server started", metadata: [
            "grpc": "\(host):\(port)", "tls": "\(configuration.grpc.tls != nil)", "data_dir": "\(settings.dataDir)",
        ])

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
        for source in signals {
            source.setEventHandler {
                logger.info("shutting down")
                Task {
                    await app.shutdown()
                    Foundation.exit(0)
                }
            }
            source.resume()
        }
        try await app.waitUntilClosed()
    }
}
