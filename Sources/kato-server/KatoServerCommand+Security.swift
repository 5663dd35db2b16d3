import ArgumentParser
import Foundation
import KatoObservability
import KatoServer
import Logging

/// Security and observability settings of `kato-server` (docs/SECURITY.md, docs/OBSERVABILITY.md).
extension KatoServerCommand {
    /// Fills in authentication, rate limits, metrics and the admin port; refuses to serve a
    /// non-loopback address without credentials unless `--allow-unauthenticated` is given.
    static func configureSecurity(_ settings: Settings, _ configuration: inout KatoServerApp.Configuration, logger: Logger) async throws {
        var auth = Authenticator.Configuration()
        auth.keyFile = settings.authKeys
        auth.jwtHS256SecretFile = settings.jwtHS256SecretFile
        auth.jwtPublicKeyFile = settings.jwtPublicKey
        auth.jwtAudience = settings.jwtAudience
        auth.jwtIssuer = settings.jwtIssuer
        if auth.isConfigured {
            let authenticator = try await Authenticator.load(auth)
            configuration.authenticator = authenticator
            logger.info("authentication is on", metadata: [
                "api_keys": "\(authenticator.keyCount)", "client_certificates": "\(authenticator.certificateCount)", "jwt": "\(auth.jwtHS256SecretFile != nil || auth.jwtPublicKeyFile != nil)",
            ])
            if authenticator.certificateCount > 0, settings.tlsClientCA == nil {
                logger.warning("the key file maps client certificates, but without --tls-client-ca no client presents one")
            }
        } else if isLoopback(settings.host) {
            logger.notice("authentication is off: no keys are configured and the server listens on loopback only")
        } else if settings.allowUnauthenticated {
            logger.warning("authentication is off on a non-loopback address (--allow-unauthenticated)", metadata: ["host": "\(settings.host)"])
        } else {
            throw ValidationError(
                "refusing to listen on \(settings.host) without credentials: configure --auth-keys or a JWT key, or pass --allow-unauthenticated")
        }
        configuration.openHealth = settings.openHealth
        configuration.openReflection = settings.openReflection

        var limits = RateLimitConfiguration()
        limits.perPrincipal = settings.rateLimitPrincipalRate > 0
            ? .init(rate: settings.rateLimitPrincipalRate, burst: max(1, settings.rateLimitPrincipalBurst)) : nil
        limits.perSession = settings.rateLimitSessionRate > 0
            ? .init(rate: settings.rateLimitSessionRate, burst: max(1, settings.rateLimitSessionBurst)) : nil
        limits.maxConcurrentCalls = settings.maxConcurrentCalls
        configuration.rateLimits = limits
        configuration.accessLogLevel = settings.accessLogLevel
        configuration.accessLogSink = BufferedLogWriter.standardError  // where the bootstrapped handlers write
        configuration.grpcMetrics = settings.metrics
        configuration.interceptorsDisabled = settings.disableInterceptors

        // The executable picks the metrics backend: Prometheus, scraped on the admin port.
        configuration.metricsPage = PrometheusBackend.bootstrap()
        if settings.adminPort >= 0 {
            var admin = AdminServer.Configuration()
            admin.host = settings.adminHost
            admin.port = settings.adminPort
            configuration.admin = admin
        }
    }

    /// With `--otlp-endpoint`, makes the OTLP/HTTP JSON exporter the process's tracer (spans
    /// of every call, docs/OBSERVABILITY.md); without it tracing stays the no-op default.
    static func startTraceExport(_ settings: Settings, logger: Logger) throws -> OTLPExporter? {
        guard let url = settings.otlpEndpoint else { return nil }
        let endpoint: OTLPExporter.Endpoint
        do {
            endpoint = try OTLPExporter.Endpoint(url: url)
        } catch {
            throw ValidationError(error.description)
        }
        var otlp = OTLPExporter.Configuration(endpoint: endpoint)
        otlp.serviceName = settings.otlpServiceName
        otlp.flushInterval = .milliseconds(settings.otlpFlushIntervalMs)
        otlp.maxQueueSize = settings.otlpQueueSize
        otlp.maxBatchSize = min(otlp.maxBatchSize, settings.otlpQueueSize)
        otlp.headers = settings.otlpHeaders
        otlp.trustRootsFile = settings.otlpCertificate
        let exporter: OTLPExporter
        do {
            exporter = try OTLPExporter(configuration: otlp, logger: logger)
        } catch {
            throw ValidationError("OTLP: cannot set up TLS for \(endpoint): \(error)")
        }
        OTLPTracer.bootstrap(exporter)
        logger.info("OTLP span export on", metadata: [
            "endpoint": "\(endpoint)", "service_name": "\(otlp.serviceName)", "flush_interval_ms": "\(settings.otlpFlushIntervalMs)",
            // Header names only: their values are often credentials.
            "headers": "\(otlp.headers.map(\.name).joined(separator: ","))",
        ])
        return exporter
    }

    /// Starts the admin port and prints its address on the line after the gRPC address.
    /// `adopting`: its listening socket, bound by hand or handed over by a predecessor.
    static func startAdmin(_ app: KatoServerApp, adopting listener: Int32? = nil, logger: Logger) async throws {
        guard let (host, port) = try await app.startAdmin(adopting: listener) else { return }
        print("admin listening on \(host):\(port)")
        fflush(nil)
        logger.info("admin HTTP started", metadata: ["admin": "\(host):\(port)"])
    }

    /// SIGHUP re-reads the key file and the JWT keys, and the config file's feature flags;
    /// connections and calls go on.
    static func installReload(_ app: KatoServerApp, flagsWatcher: FlagsWatcher?, logger: Logger) {
        let authenticator = app.authenticator
        guard authenticator != nil || flagsWatcher != nil else { return }
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .main)
        source.setEventHandler {
            flagsWatcher?.reloadNow()
            guard let authenticator else { return }
            Task {
                do {
                    try await authenticator.reload()
                    logger.notice("credentials reloaded", metadata: [
                        "api_keys": "\(authenticator.keyCount)", "client_certificates": "\(authenticator.certificateCount)",
                    ])
                } catch {
                    logger.error("credentials reload failed; the previous keys stay in force", metadata: ["error": "\(error)"])
                }
            }
        }
        source.resume()
        reloadSource = source
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// Keeps the SIGHUP source alive for the life of the process (set once, from `run`).
nonisolated(unsafe) var reloadSource: (any DispatchSourceSignal)?
