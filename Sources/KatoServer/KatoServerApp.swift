import GRPCH2
import HandOver
import ProtoJSON
import KatoPostgres
import KatoProto
import KatoStore
import KatoSupport
import Logging
import Metrics
import NIOPosix
import Synchronization

/// The kato server: the kato.v2 services, health and reflection on one GRPCH2 server, the
/// interceptors around them (trace, metrics, auth, rate limits), the optional admin HTTP
/// port, plus the session cleanup task.
public final class KatoServerApp: Sendable {
    public struct Configuration: Sendable {
        public var grpc = ServerConfiguration()
        public var sessions = SessionRegistry.Configuration()
        /// Credentials; nil turns authentication off (every caller is an admin of every node).
        public var authenticator: Authenticator?
        /// Services callable without credentials when authentication is on.
        public var openHealth = true
        public var openReflection = true
        public var rateLimits = RateLimitConfiguration()
        /// Level of the per-call access-log line; nil writes none.
        public var accessLogLevel: Logger.Level? = .info
        /// Where the logger's handler writes, when the log backend takes formatted lines
        /// (`TraceInterceptor`'s access log then skips swift-log's formatting); nil: through the logger.
        public var accessLogSink: (any LogLineSink)?
        /// The go-grpc-prometheus server metrics (through swift-metrics).
        public var grpcMetrics = true
        /// Benchmarks only: no interceptor at all (no trace id, metrics, auth or limits).
        public var interceptorsDisabled = false
        /// The web console at `/console/` on the gRPC port (with the web protocols; docs/CONSOLE.md).
        public var console = true
        /// The admin HTTP port; nil serves none.
        public var admin: AdminServer.Configuration?
        /// The `/metrics` page (the executable picks the metrics backend); nil answers 404.
        public var metricsPage: (@Sendable () -> [UInt8])?
        /// Where health and the degradation gauge read the degradation level.
        public var degradation: any DegradationStatusProvider = FixedDegradationStatus()
        /// Where the knowledge base is kept (`<dir>/kato.sqlite`); nil keeps it in memory only.
        /// With a store, `degradation` reads the store's status.
        public var dataDirectory: String?
        public var store = KnowledgeStore.Configuration()
        /// TEST ONLY (`--enable-test-faults`): makes the store fail operations at random.
        public var storeFaults: FaultInjector?
        /// Knowledge bases shared with other replicas through PostgreSQL (opened by the caller,
        /// `PostgresKnowledgeStore.open`); replaces `dataDirectory`.
        public var replicated: PostgresKnowledgeStore?
        /// The feature flags at start (`apply(flags:)` changes them while running).
        public var flags = FeatureFlags()
        /// What a predecessor handed over (`HandOverSuccessor`): the store opens with the preloaded
        /// knowledge bases and the sessions are installed before the first call.
        public var takeOver: TakenOver?
        /// How one large prediction is split over cores (`--prediction-threads`).
        public var predictionThreads = PredictionThreads.default
        public init() {}
    }

    public let sessions: SessionRegistry
    public let health: HealthService
    /// The durable store (nil in memory-only mode); `store.status` holds the circuit breaker
    /// state and the degradation level.
    public let store: KnowledgeStore?
    let healthPublisher: HealthPublisher?
    public let authenticator: Authenticator?
    let server: GRPCServer
    let admin: AdminServer?
    let logger: Logger
    let serviceNames: [String]
    let lifecycle = Lifecycle()
    /// Begun at the start of the shutdown: ends open subscriptions (SERVER_DRAINING).
    public let drain: Drain
    /// The feature flags in force (`apply(flags:)`).
    public let flags: LiveFlags
    let startRateLimits: RateLimitConfiguration
    let rateLimiter: RateLimitInterceptor?
    let trace: TraceInterceptor?

    public init(configuration: Configuration, logger: Logger) throws {
        self.logger = logger
        var configuration = configuration
        store = configuration.replicated == nil ? try Self.openStore(configuration, logger: logger) : nil
        if let status = store?.status ?? configuration.replicated?.status {
            configuration.degradation = StoreDegradationStatus(status: status)
        }
        sessions = SessionRegistry(
            configuration: configuration.sessions, nodes: NodeRegistry(
                store: store, replicated: configuration.replicated, predictionThreads: configuration.predictionThreads),
            shared: configuration.replicated?.sessions)
        health = HealthService()
        let drain = Drain()
        self.drain = drain
        let flags = LiveFlags()
        self.flags = flags
        startRateLimits = configuration.rateLimits
        authenticator = configuration.authenticator
        let services: [any ServiceProvider] = [
            SessionService(sessions: sessions, flags: flags), ObserveService(sessions: sessions, flags: flags),
            PredictService(sessions: sessions, flags: flags, drain: drain), KnowledgeBaseService(sessions: sessions),
        ]
        let index = try DescriptorIndex(descriptorSet: KatoDescriptors.descriptorSet)
        let listed = services.map(\.serviceName) + [health.serviceName] + ReflectionService.serviceNames
        let reflection = ReflectionService(index: index, services: listed)
        var router = ServiceRouter()
        if configuration.grpc.web.enabled {
            // JSON for Connect and gRPC-Web calls, from the descriptors reflection serves.
            router.messageTranscoder = try MessageTranscoder(codec: ProtoJSONCodec(
                fileDescriptorSet: KatoDescriptors.descriptorSet,
                options: .init(ignoreUnknownFields: configuration.grpc.web.ignoreUnknownJSONFields)))
        }
        let all: [any ServiceProvider] = services + [health, reflection]
        for s in all { router.register(s) }
        if configuration.interceptorsDisabled {
            rateLimiter = nil
            trace = nil
        } else {
            let degradation = store.map { DegradationInterceptor(status: $0.status) }
            let chain = Self.interceptors(configuration, services: all, degradation: degradation, logger: logger)
            router.addInterceptor(chain)
            // Kept for live flag changes (rates, access-log level).
            rateLimiter = chain.inner.inner.inner.outer
            trace = chain.outer
        }
        if configuration.grpc.web.enabled && configuration.console {
            router.getRoutes.append(ConsoleRoute.route(sessions: sessions, authenticator: configuration.authenticator,
                                                       admin: Self.routes(configuration, sessions: sessions, lifecycle: lifecycle)))
        }
        // With PostgreSQL, the calls' event loops are its connections' (postgres-nio's default
        // group): a session call's statements then often stay on the thread that runs the call
        // rather than waking another, and the process runs two loops fewer (docs/SCALING.md).
        server = GRPCServer(configuration: configuration.grpc, router: router, logger: logger,
                            group: configuration.replicated == nil ? nil : MultiThreadedEventLoopGroup.singleton)
        for name in listed { health.setStatus(.notServing, forService: name) }
        health.setStatus(.notServing, forService: "")
        serviceNames = listed
        let healthService = health
        healthPublisher = store.map {
            HealthPublisher(status: $0.status, health: healthService, services: services.map(\.serviceName), logger: logger)
        }
        if let adminConfiguration = configuration.admin {
            admin = AdminServer(configuration: adminConfiguration, routes: Self.routes(configuration, sessions: sessions, lifecycle: lifecycle))
        } else {
            admin = nil
        }
        if let taken = configuration.takeOver, let incoming = taken.incoming {
            // Streamed behind the index: calls are accepted at once and wait for their own session.
            sessions.receive(incoming, wait: taken.sessionWait, logger: logger)
        } else if let handedOver = configuration.takeOver?.sessions {
            let start = ContinuousClock.now
            try sessions.install(handedOver)
            logger.info("sessions installed", metadata: [
                "sessions": "\(handedOver.sessions.count)", "install_ms": "\((ContinuousClock.now - start).ms)",
            ])
        }
        // Also registers kato_feature_enabled{feature} for every flag, before the first scrape.
        apply(flags: configuration.flags)
        _ = (FlagMetrics.reloadFailures, FlagMetrics.reloads)
    }

    static func routes(_ c: Configuration, sessions: SessionRegistry, lifecycle: Lifecycle) -> AdminRoutes {
        let degradation = c.degradation
        let page = c.metricsPage
        let maxSessions = c.sessions.maxSessions
        let replicated = c.replicated
        let certificate = c.grpc.tls.flatMap { CertificateExpiry(chainPath: $0.certificateChainPath) }
        if page != nil { KatoMetrics.registerFamilies() }
        let state: @Sendable () -> AdminRoutes.HealthState = {
            let phase = lifecycle.phase.load(ordering: .relaxed)
            return AdminRoutes.HealthState(
                started: phase >= 1, shuttingDown: phase >= 2, handingOver: lifecycle.handingOver.load(ordering: .relaxed),
                degradation: degradation.degradationStatus, sessionsActive: sessions.count(nodeID: nil))
        }
        return AdminRoutes(
            metrics: {
                guard let page else { return nil }
                let h = state()
                KatoMetrics.sessionsActive.record(h.sessionsActive)
                KatoMetrics.sessionsLimit.record(maxSessions)
                certificate?.record()
                KatoMetrics.subscribersActive.record(Session.subscribersActive.load(ordering: .relaxed))
                for (node, version) in replicated?.appliedVersions ?? [] {
                    Gauge(label: "kato_kb_applied_version", dimensions: [("node_id", node)]).record(version)
                }
                KatoMetrics.degradationLevel.record(h.degradation.level)
                if let breaker = h.degradation.checks["circuit_breaker_state"].flatMap(Int.init) {
                    KatoMetrics.circuitBreakerState.record(breaker)
                }
                return page()
            },
            health: state)
    }

    /// Binds, marks every service SERVING. The background work (session sweeper, health
    /// publisher) and the ordered shutdown run as the ServiceGroup's services (`services(…)`).
    /// `adopting`: a listening socket to serve instead of binding (`GRPCServer.start(adopting:)`).
    public func start(adopting listener: Int32? = nil) async throws -> (host: String, port: Int) {
        let address = try await server.start(adopting: listener)
        for name in serviceNames { health.setStatus(.serving, forService: name) }
        health.setStatus(.serving, forService: "")
        lifecycle.phase.store(1, ordering: .relaxed)
        healthPublisher?.publish()
        return (address.ipAddress ?? "?", address.port ?? 0)
    }

    /// Binds the admin port (when configured); returns its address. `adopting`: its listening
    /// socket, bound by hand or handed over by a predecessor (nil without an admin port: closed).
    public func startAdmin(adopting listener: Int32? = nil) async throws -> (host: String, port: Int)? {
        guard let admin else {
            if let listener { ListeningSocket.close(listener) }
            return nil
        }
        return try await admin.start(adopting: listener)
    }

    public func waitUntilClosed() async throws {
        try await server.waitUntilClosed()
    }

    static let healthService = "grpc.health.v1.Health"

    /// 0 starting, 1 serving, 2 shutting down (for the startup and readiness probes).
    final class Lifecycle: Sendable {
        let phase = Atomic<Int>(0)
        /// Set when the drain is a hand-over to a successor process (`/health/ready` stays ready).
        let handingOver = Atomic<Bool>(false)
    }
}
