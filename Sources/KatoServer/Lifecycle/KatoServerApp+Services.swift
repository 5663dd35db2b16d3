import GRPCH2
import Logging
import ServiceLifecycle

/// The server's parts as swift-service-lifecycle services, for one `ServiceGroup`.
///
/// The group starts its services concurrently and has no notion of "ready", so the listeners
/// are bound before it runs (`start()`, `startAdmin()`, in that order, so the addresses are
/// printed in a fixed order); the group owns what runs afterwards and the shutdown, which it
/// performs service by service in reverse order, each finishing before the next is told:
///
/// 0. hand-over (with a data directory) — returns once a successor has taken the listener
/// 1. termination signals (SIGTERM/SIGINT) — returns on the first, which shuts the group down
/// 2. gRPC — health NOT_SERVING (gRPC health and `/health/ready`), subscriptions end with
///    UNAVAILABLE `SERVER_DRAINING`, the pre-stop delay, stop accepting, GOAWAY, in-flight
///    calls finish within the grace period
/// 3. admin HTTP — closed only now, so probes see NOT_SERVING during the drain
/// 4. flags watcher, health publisher, session sweeper — cancelled
/// 5. exporters (OTLP) — flushed after the calls, whose spans are queued by then
/// 6. store — commits what the calls wrote and releases the data directory
/// 7. hand-over finish — a successor gets the changed nodes and every session
extension KatoServerApp {
    public struct ShutdownConfiguration: Sendable {
        /// Between NOT_SERVING and closing the listener: time for load balancers' health checks
        /// to take the server out. 0 by default: a client connected directly learns from GOAWAY
        /// at once, and a delay only helps behind a balancer that polls readiness (set it to the
        /// balancer's check interval × its failure threshold).
        public var drainDelay: Duration = .zero
        public init() {}
    }

    /// The services to run in one `ServiceGroup`, in start order (the group stops them in reverse).
    /// `exporterShutdowns`: how each span exporter flushes and stops (the backends live with the
    /// executable, KatoObservability).
    public func services(
        shutdown: ShutdownConfiguration, exporterShutdowns: [@Sendable () async -> Void] = [], flagsWatcher: FlagsWatcher? = nil,
        signals: (any Service)?, handOver: HandOverPredecessor? = nil
    ) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var list: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ name: String, _ service: any Service, endsGroup: Bool = false) {
            list.append(.init(
                service: service, successTerminationBehavior: endsGroup ? .gracefullyShutdownGroup : .cancelGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name))
        }
        // Stopped last: a successor gets the sessions once every call has ended and the store is closed.
        if let handOver { add("hand-over-finish", OnShutdown { handOver.finish() }) }
        add("store", OnShutdown { [self] in closeStore() })
        for flush in exporterShutdowns { add("otlp-exporter", OnShutdown(flush)) }
        let sessions = self.sessions
        add("session-sweeper", UntilShutdown { await sessions.runCleanup() })
        if let healthPublisher {
            add("health-publisher", UntilShutdown(stop: { healthPublisher.stop() }) { await healthPublisher.run() })
        }
        if admin != nil { add("admin", OnShutdown { [self] in await admin?.shutdown() }) }
        if let flagsWatcher { add("flags-watcher", flagsWatcher) }
        add("grpc", OnShutdown { [self] in
            // A hand-over keeps the port served (by the successor): no pre-stop delay, and the
            // node stays ready for probes.
            let handingOver = handOver?.isHandingOver == true
            await drainAndStop(delay: handingOver ? .zero : shutdown.drainDelay, handingOver: handingOver)
        })
        if let signals { add("signals", signals, endsGroup: true) }
        // Returns once a successor has the listener, which shuts the group down.
        if let handOver { add("hand-over", ServiceFunction { await handOver.serve() }, endsGroup: true) }
        return list
    }

    /// The gRPC side of the shutdown (the admin port stays open through it).
    func drainAndStop(delay: Duration, handingOver: Bool = false) async {
        lifecycle.handingOver.store(handingOver, ordering: .relaxed)
        lifecycle.phase.store(2, ordering: .relaxed)
        healthPublisher?.stop()  // it would publish SERVING again on a level change
        health.enterShutdown()
        drain.begin()
        logger.notice("draining", metadata: [
            "drain_delay_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
            "grace_period_ms": "\(server.configuration.keepalive.gracePeriod.components.seconds * 1000)",
        ])
        if delay > .zero { try? await Task.sleep(for: delay) }
        await server.shutdown()
        logger.info("gRPC server stopped")
    }

    /// Commits what the calls wrote and releases the data directory; a replica stops following
    /// the shared knowledge base and closes its connections.
    func closeStore() {
        store?.close()
        sessions.nodes.replicated?.close()
    }
}

/// Waits for the graceful shutdown (or cancellation), then runs `stop`.
struct OnShutdown: Service {
    let stop: @Sendable () async -> Void
    init(_ stop: @escaping @Sendable () async -> Void) { self.stop = stop }

    func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}

/// Runs a loop until the graceful shutdown: cancelled then (the loop must end on cancellation),
/// or told through `stop` for a loop that polls a flag instead. A loop that ends earlier (the
/// health publisher is stopped at drain start) waits for its turn: the group takes a service
/// that returns before being told as a failure.
struct UntilShutdown: Service {
    var stop: (@Sendable () -> Void)?
    let body: @Sendable () async -> Void
    init(stop: (@Sendable () -> Void)? = nil, _ body: @escaping @Sendable () async -> Void) {
        self.stop = stop
        self.body = body
    }

    func run() async throws {
        if let stop {
            await withGracefulShutdownHandler { await body() } onGracefulShutdown: { stop() }
        } else {
            await cancelWhenGracefulShutdown { await body() }
        }
        try? await gracefulShutdown()
    }
}

/// SIGTERM and SIGINT as a service: returns on the first one, which shuts the group down.
///
/// Not the group's own `gracefulShutdownSignals`: those are dispatch signal sources over
/// `SIG_IGN`, which on Linux may lose a signal delivered right after start (see
/// `ProcessTermination`); this uses GRPCH2's self-pipe handler. Create it before the listening
/// address is announced: a supervisor may signal as soon as it reads it.
public struct TerminationSignals: Service {
    let signals: AsyncStream<Void>
    let logger: Logger

    public init(logger: Logger) {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        ProcessTermination.onSignal { continuation.yield() }
        signals = stream
        self.logger = logger
    }

    public func run() async throws {
        let signals = self.signals
        let logger = self.logger
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.info("shutting down")
                return
            }
        }
    }
}

/// A closure as a service.
struct ServiceFunction: Service {
    let body: @Sendable () async -> Void
    init(_ body: @escaping @Sendable () async -> Void) { self.body = body }
    func run() async throws { await body() }
}
