import ArgumentParser
import Foundation
import GRPCH2
import HandOver
import KatoObservability
import KatoServer
import Logging
import ServiceLifecycle

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
    @Option(help: "Share the knowledge base with other replicas through PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=…]; replaces --data-dir (KATO_POSTGRES).") var postgres: String?
    @Option(name: .customLong("postgres-pool-size"), help: "PostgreSQL connections of this replica at most; default 10 (KATO_POSTGRES_POOL_SIZE).") var postgresPoolSize: Int?
    @Option(name: .customLong("max-sessions"), help: "Live sessions at most; CreateSession answers RESOURCE_EXHAUSTED beyond; default 100000 (KATO_MAX_SESSIONS).") var maxSessions: Int?
    @Option(name: .customLong("prediction-threads"), help: "Cores one large prediction may be split over (1: never split); default min(2, cores) (KATO_PREDICTION_THREADS).") var predictionThreads: Int?
    @Option(name: .customLong("prediction-split-candidates"), help: "A prediction is split only when each piece gets at least this many candidates; default 512 (KATO_PREDICTION_SPLIT_CANDIDATES).") var predictionSplitCandidates: Int?
    @Option(name: .customLong("prediction-split-patterns"), help: "A prediction is split only when its knowledge base holds at least this many patterns; default 50000 (KATO_PREDICTION_SPLIT_PATTERNS).") var predictionSplitPatterns: Int?

    // Security and observability (docs/SECURITY.md, docs/OBSERVABILITY.md)
    @Option(name: .customLong("admin-host"), help: "Admin HTTP address (KATO_ADMIN_HOST); default 127.0.0.1.") var adminHost: String?
    @Option(name: .customLong("auth-keys"), help: "API key file, JSON; reloaded on SIGHUP (KATO_AUTH_KEYS).") var authKeys: String?
    @Option(name: .customLong("jwt-hs256-secret-file"), help: "File with the HS256 JWT secret (KATO_JWT_HS256_SECRET_FILE).") var jwtHS256SecretFile: String?
    @Option(name: .customLong("jwt-public-key"), help: "PEM public key for RS256/ES256 JWTs (KATO_JWT_PUBLIC_KEY).") var jwtPublicKey: String?
    @Option(name: .customLong("jwt-audience"), help: "Required JWT audience (KATO_JWT_AUDIENCE).") var jwtAudience: String?
    @Option(name: .customLong("jwt-issuer"), help: "Required JWT issuer (KATO_JWT_ISSUER).") var jwtIssuer: String?
    @Flag(name: .customLong("allow-unauthenticated"), help: "Serve without credentials on a non-loopback address (KATO_ALLOW_UNAUTHENTICATED).") var allowUnauthenticated = false
    @Option(name: .customLong("open-health"), help: "Health callable without credentials: true/false (KATO_OPEN_HEALTH).") var openHealth: String?
    @Option(name: .customLong("open-reflection"), help: "Reflection callable without credentials: true/false (KATO_OPEN_REFLECTION).") var openReflection: String?
    @Option(name: .customLong("rate-limit-principal-rate"), help: "Requests per second per principal; 0 = off (KATO_RATE_LIMIT_PRINCIPAL_RATE).") var rateLimitPrincipalRate: Double?
    @Option(name: .customLong("rate-limit-principal-burst"), help: "Burst per principal (KATO_RATE_LIMIT_PRINCIPAL_BURST).") var rateLimitPrincipalBurst: Double?
    @Option(name: .customLong("rate-limit-session-rate"), help: "Requests per second per session; 0 = off (KATO_RATE_LIMIT_SESSION_RATE).") var rateLimitSessionRate: Double?
    @Option(name: .customLong("rate-limit-session-burst"), help: "Burst per session (KATO_RATE_LIMIT_SESSION_BURST).") var rateLimitSessionBurst: Double?
    @Option(name: .customLong("max-concurrent-calls"), help: "Calls running at once; 0 = no limit (KATO_MAX_CONCURRENT_CALLS).") var maxConcurrentCalls: Int?
    @Option(name: .customLong("max-send-message-bytes"), help: "Largest response message sent; a larger one (e.g. GetPredictions with ~1M future potentials) ends its call with RESOURCE_EXHAUSTED naming the limit; default 67108864 (KATO_MAX_SEND_MESSAGE_BYTES).") var maxSendMessageBytes: Int?
    @Option(name: .customLong("access-log-level"), help: "Level of the per-call access log, or off (KATO_ACCESS_LOG_LEVEL).") var accessLogLevel: String?
    @Option(name: .customLong("web-protocols"), help: "gRPC-Web and Connect (JSON and binary) over HTTP/1.1 on the gRPC port: true/false; default true (KATO_WEB_PROTOCOLS).") var webProtocols: String?
    @Option(name: .customLong("web-request-timeout"), help: "Seconds an HTTP/1.1 connection has to send its next whole request (after opening or after a response) before it is closed; default 60 (KATO_WEB_REQUEST_TIMEOUT).") var webRequestTimeout: Int?
    @Option(name: .customLong("json-ignore-unknown-fields"), help: "JSON requests (Connect, gRPC-Web +json) may name fields the server does not know, which are skipped: true/false; default false, refused with the field named (KATO_JSON_IGNORE_UNKNOWN_FIELDS).") var jsonIgnoreUnknownFields: String?
    @Option(name: .customLong("cors-origin"), help: "Browser origins allowed to call, comma-separated (https://app.example), or *; default none (KATO_CORS_ORIGIN).") var corsOrigin: String?
    @Option(name: .customLong("metrics"), help: "gRPC server metrics: true/false (KATO_METRICS).") var metrics: String?
    @Option(name: .customLong("otlp-endpoint"), help: "Export spans over OTLP/HTTP JSON to http://HOST:PORT[/PATH]; off when unset (KATO_OTLP_ENDPOINT).") var otlpEndpoint: String?
    @Option(name: .customLong("otlp-headers"), help: "Headers sent with every export, name=value,…, values percent-encoded (KATO_OTLP_HEADERS); never logged.") var otlpHeaders: String?
    @Option(name: .customLong("otlp-certificate"), help: "PEM CA that signs an https collector's certificate; default: system roots (KATO_OTLP_CERTIFICATE).") var otlpCertificate: String?
    @Option(name: .customLong("otlp-service-name"), help: "service.name of exported spans; default kato-server (KATO_OTLP_SERVICE_NAME).") var otlpServiceName: String?
    @Option(name: .customLong("otlp-flush-interval-ms"), help: "How often queued spans are sent; default 2000 (KATO_OTLP_FLUSH_INTERVAL_MS).") var otlpFlushIntervalMs: Int?
    @Option(name: .customLong("otlp-queue-size"), help: "Spans waiting at most; more are dropped and counted; default 2048 (KATO_OTLP_QUEUE_SIZE).") var otlpQueueSize: Int?
    @Option(name: .customLong("subscription-write-delay-ms"), help: "At most one write of subscription updates per connection per this many milliseconds: an update published within this of the connection's last such write waits for the rest of it (fewer, larger socket writes: more updates/s for the same CPU), one after a quiet spell goes at once; 0 = every event-loop turn; default 2 (KATO_SUBSCRIPTION_WRITE_DELAY_MS).") var subscriptionWriteDelayMs: Double?
    @Option(name: .customLong("handler-execution"), help: "Where call handlers run: event-loop (default; on the connection's I/O thread) or pool (Swift's global executor, for long engine calls) (KATO_HANDLER_EXECUTION).") var handlerExecution: String?
    @Flag(name: .customLong("disable-interceptors"), help: "Benchmarks only: run without any interceptor (no auth, limits, metrics, trace ids).") var disableInterceptors = false
    @Option(name: .customLong("drain-delay"), help: "Shutdown: seconds between NOT_SERVING and closing the listener, for load balancers to notice; default 0 (KATO_DRAIN_DELAY).") var drainDelay: Double?
    @Option(name: .customLong("shutdown-grace"), help: "Shutdown: seconds in-flight calls get to finish after GOAWAY; default 10 (KATO_SHUTDOWN_GRACE).") var shutdownGrace: Double?
    @Flag(name: .customLong("take-over"), help: "Take over from the kato-server running on --data-dir without dropping a call: preload while it serves, then receive its listening socket and sessions (docs/OPERATIONS.md). `kato-server restart` / SIGUSR2 starts one.") var takeOver = false
    @Option(name: .customLong("take-over-timeout"), help: "Seconds the running server has to answer a --take-over; default 10.") var takeOverTimeout: Double?
    @Option(name: .customLong("take-over-session-wait"), help: "After a --take-over, seconds a call for a session still on its way from the predecessor waits for it before UNAVAILABLE (SESSION_HANDOVER_PENDING, retryable); default 30.") var takeOverSessionWait: Double?
    @OptionGroup(title: "Durable store") var storeOptions: StoreOptions
    @Flag(name: .customLong("check-config"), help: "Validate the flags, environment and config file (key files, TLS files, the PostgreSQL URL) and exit: 0 when valid, non-zero with the reason when not; nothing is bound, opened or written.") var checkConfig = false

    func run() async throws {
        let settings = try Settings(command: self)
        LoggingSystem.bootstrap { label in
            var handler = BufferedStreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = {
            var logger = Logger(label: "kato-server")
            logger.logLevel = settings.logLevel
            return logger
        }()

        var configuration = KatoServerApp.Configuration()
        configuration.grpc.host = settings.host
        configuration.grpc.port = settings.port
        configuration.grpc.handlerExecution = settings.handlerExecution
        configuration.grpc.pushCoalescingDelay = .microseconds(settings.subscriptionWriteDelayMicros)
        configuration.grpc.maxSendMessageSize = settings.maxSendMessageBytes
        configuration.grpc.web = .init(enabled: settings.webProtocols, corsOrigins: settings.corsOrigins,
                                       requestTimeout: .seconds(settings.webRequestTimeoutSeconds),
                                       ignoreUnknownJSONFields: settings.jsonIgnoreUnknownFields)
        configuration.grpc.keepalive.gracePeriod = .milliseconds(settings.shutdownGraceMs)
        if let cert = settings.tlsCert, let key = settings.tlsKey {
            configuration.grpc.tls = .init(certificateChainPath: cert, privateKeyPath: key, clientCAPath: settings.tlsClientCA)
        } else if settings.tlsCert != nil || settings.tlsKey != nil {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        do { try configuration.grpc.validate() } catch { throw ValidationError("\(error)") }
        configuration.sessions.cleanupInterval = .seconds(settings.sessionCleanupSeconds)
        configuration.sessions.maxSessions = settings.maxSessions
        configuration.predictionThreads = settings.predictionThreads
        try await Self.configureSecurity(settings, &configuration, logger: logger)
        // Before the app is made: its TraceInterceptor takes the tracer in force then.
        let otlp = try Self.startTraceExport(settings, logger: logger)

        try storeOptions.apply(to: &configuration, dataDir: settings.dataDir)
        if let path = settings.configPath {
            do {
                configuration.flags = try FlagsFile.load(path)
            } catch {
                throw ValidationError("feature flags: \(error)")
            }
        }
        if checkConfig { Self.finishCheck(settings, configuration) }
        if let url = settings.postgres {
            configuration.replicated = try await Self.openPostgres(url, poolSize: settings.postgresPoolSize, configuration, logger: logger)
        }
        // With the embedded store a successor can take the server over (Restart.swift).
        let handsOver = settings.postgres == nil && configuration.dataDirectory != nil
        if takeOver {
            guard handsOver, let directory = configuration.dataDirectory else {
                throw ValidationError("--take-over needs --data-dir (the embedded store)")
            }
            var taken = try await Self.takeOver(
                dataDirectory: directory, timeout: .milliseconds(Int64((takeOverTimeout ?? 10) * 1000)), logger: logger)
            if let wait = takeOverSessionWait {
                guard wait > 0 else { throw ValidationError("--take-over-session-wait must be > 0") }
                taken.sessionWait = .milliseconds(Int64(wait * 1000))
            }
            configuration.takeOver = taken
        }
        let app = try KatoServerApp(configuration: configuration, logger: logger)
        // The embedded store's server binds its listener by hand (after the store's lock is
        // held, so a second server on the directory hears about the lock, not the port).
        let listener = try configuration.takeOver?.listener
            ?? (handsOver ? ListeningSocket.bind(host: settings.host, port: settings.port) : nil)
        // Installed before the address is printed: a supervisor may signal as soon as it reads it.
        let signals = TerminationSignals(logger: logger)
        let (host, port) = try await app.start(adopting: listener)
        print("listening on \(host):\(port)")
        fflush(nil)
        // With the embedded store the admin port is bound by hand too, so a successor takes it
        // over with the gRPC port: probes and scrapes are never refused during a restart.
        var adminListener = configuration.takeOver?.adminListener
        if adminListener == nil, handsOver, let admin = configuration.admin {
            adminListener = try ListeningSocket.bind(host: admin.host, port: admin.port, backlog: 128)
        }
        try await Self.startAdmin(app, adopting: adminListener, logger: logger)
        if configuration.admin == nil { adminListener = nil }  // a handed-over one was closed by startAdmin
        let flagsWatcher = settings.configPath.map { FlagsWatcher(path: $0, app: app, logger: logger) }
        Self.installReload(app, flagsWatcher: flagsWatcher, logger: logger)
        var handOver: HandOverPredecessor?
        if handsOver, let directory = configuration.dataDirectory, let listener {
            handOver = try HandOverPredecessor(
                app: app, dataDirectory: directory, listeningSocket: listener, adminListeningSocket: adminListener, drainBound: configuration.grpc.keepalive.gracePeriod, logger: logger)
            Self.installRestartSignal(logger: logger)
        }
        if let taken = configuration.takeOver {
            logger.notice("took over", metadata: ["sessions": "\(taken.sessionCount)"])
        }
        logger.info("kato-server started", metadata: [
            "grpc": "\(host):\(port)", "tls": "\(configuration.grpc.tls != nil)", "data_dir": "\(settings.dataDir)",
        ])
        var shutdown = KatoServerApp.ShutdownConfiguration()
        shutdown.drainDelay = .milliseconds(settings.drainDelayMs)
        var group = ServiceGroupConfiguration(
            services: app.services(
                shutdown: shutdown, exporterShutdowns: otlp.map { exporter in [{ await exporter.shutdown() }] } ?? [], flagsWatcher: flagsWatcher, signals: signals,
                handOver: handOver), logger: logger)
        // Past the drain delay, the grace period and a margin for the store and the exporters,
        // the group cancels what is left rather than hang.
        // A hand-over also encodes and sends every session (≈ 0.3 ms each in a debug build): a wider margin.
        group.maximumGracefulShutdownDuration = shutdown.drainDelay + configuration.grpc.keepalive.gracePeriod
            + .seconds(handOver == nil ? 10 : 300)
        group.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: group).run()
        logger.info(handOver?.isHandingOver == true ? "kato-server stopped; its successor serves" : "kato-server stopped")
    }
}
