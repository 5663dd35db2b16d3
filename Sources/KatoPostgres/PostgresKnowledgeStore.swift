import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Every node's knowledge base, shared by all kato-server replicas through one PostgreSQL
/// (docs/SCALING.md). Opening it migrates the schema (under the advisory lock), loads every node
/// into memory, and starts following the other replicas' changes: LISTEN on ``channel`` for
/// `VERSION:NODE` notifications, plus a poll of every node's version each ``pollInterval`` that
/// catches what a lost notification or a reconnect missed — no change is ever skipped.
public final class PostgresKnowledgeStore: Sendable {
    public static let channel = "kato_kb"
    public static let pollInterval: Duration = .seconds(1)

    let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger
    let metrics: PostgresMetrics
    /// Circuit breaker and degradation level, as with the embedded store.
    public let status: StoreStatus
    /// The sessions shared by replicas (their own pool of `poolSize`; the same breaker).
    public let sessions: PostgresSessionStore
    private let nodes = Mutex<[String: ReplicatedNode]>([:])
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// How long opening took, and how many patterns it loaded.
    public let loadStatistics: Mutex<(duration: Duration, patterns: Int)> = Mutex((.zero, 0))

    private init(
        settings: PostgresSettings, client: PostgresClient, poolSize: Int, breaker: CircuitBreaker.Configuration, logger: Logger
    ) throws(PostgresSetupError) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.metrics = PostgresMetrics(poolSize: poolSize)
        self.status = StoreStatus(breaker: breaker)
        self.sessions = try PostgresSessionStore(settings: settings, poolSize: poolSize, status: status, logger: logger)
    }

    /// Connects (one clear error if it cannot), migrates, loads every node and starts the feed.
    public static func open(
        _ settings: PostgresSettings, poolSize: Int, breaker: CircuitBreaker.Configuration = .defaults, logger: Logger
    ) async throws(PostgresSetupError) -> PostgresKnowledgeStore {
        let start = ContinuousClock.now
        _ = try await PostgresAdmin.migrate(settings, logger: logger)
        // pool size × replicas must fit PostgreSQL's max_connections (docs/SCALING.md).
        let budget = try await PostgresAdmin.connectionBudget(settings, logger: logger)
        let perReplica = PostgresAdmin.connectionsPerReplica(poolSize: poolSize)
        guard perReplica <= budget else {
            throw PostgresSetupError(.connectionLimit, """
                --postgres-pool-size \(poolSize) needs \(perReplica) connections per replica (two pools, LISTEN and the session batch lane), more than \
                PostgreSQL allows (max_connections - superuser_reserved_connections = \(budget)); lower it or raise max_connections
                """)
        }
        let fit = budget / perReplica
        logger.log(level: fit < 2 ? .warning : .info, "PostgreSQL connection budget", metadata: [
            "max_usable": "\(budget)", "per_replica": "\(perReplica)", "replicas_that_fit": "\(fit)"])
        let client: PostgresClient
        do {
            client = PostgresClient(configuration: try settings.poolConfiguration(size: poolSize), backgroundLogger: logger)
        }
        let store = try PostgresKnowledgeStore(settings: settings, client: client, poolSize: poolSize, breaker: breaker, logger: logger)
        let running = await PostgresKnowledgeStore.startRunning(client)
        store.tasks.withLock { $0.append(running) }
        do {
            var patterns = 0
            for (nodeID, _) in try await store.nodeVersions() {
                // Several of the (idle) pool's connections: chunks come from several backends.
                let (loader, version) = try await store.withConnections(min(poolSize, loadConnections)) { conns in
                    try await load(nodeID, conns[0], others: Array(conns.dropFirst()), logger: logger)
                }
                patterns += loader.patternCount
                let node = ReplicatedNode(nodeID: nodeID, knowledgeBase: KnowledgeBase(loaded: loader), version: version, store: store)
                store.nodes.withLock { $0[nodeID] = node }
            }
            store.loadStatistics.withLock { $0 = (ContinuousClock.now - start, patterns) }
        } catch {
            store.close()
            throw PostgresSetupError.explain(error, settings)
        }
        store.startFollowing()
        return store
    }

    /// Runs `client` in a task and returns once that task is entering `run()`, which marks the
    /// pool running before its first suspension: the load's first lease right after would
    /// otherwise find it not running yet and postgres-nio logs a warning.
    static func startRunning(_ client: PostgresClient) async -> Task<Void, Never> {
        let (entered, signal) = AsyncStream<Void>.makeStream()
        let task = Task {
            signal.finish()
            await client.run()
        }
        for await _ in entered {}
        await Task.yield()
        return task
    }

    /// The node `nodeID`, created empty on first use (its first write creates its row).
    public func node(_ nodeID: String) -> ReplicatedNode {
        nodes.withLock { n in
            if let node = n[nodeID] { return node }
            let node = ReplicatedNode(nodeID: nodeID, knowledgeBase: KnowledgeBase(), version: 0, store: self)
            n[nodeID] = node
            return node
        }
    }

    public var nodeIDs: [String] { nodes.withLock { Array($0.keys) } }

    /// The version each node's in-memory knowledge base reflects here (`kato_kb_applied_version`).
    public var appliedVersions: [(nodeID: String, version: Int64)] {
        nodes.withLock { $0.map { ($0.key, $0.value.appliedVersion) } }
    }

    /// Stops the feed and the connection pool.
    public func close() {
        sessions.close()
        for t in tasks.withLock({ t in defer { t = [] }; return t }) { t.cancel() }
    }

    /// A connection of the pool for `body`, counted in the pool metrics.
    func withConnection<R>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let asked = ContinuousClock.now
        return try await client.withConnection { conn in
            metrics.leased(waited: ContinuousClock.now - asked)
            HeldConnection.attachCurrent(conn)
            defer {
                HeldConnection.detachCurrent()
                metrics.released()
            }
            return try await body(conn)
        }
    }

    /// `n` connections of the pool at once for `body` (leased one after the other).
    func withConnections<R>(
        _ n: Int, _ leased: [PostgresConnection] = [], _ body: ([PostgresConnection]) async throws -> R
    ) async throws -> R {
        guard leased.count < n else { return try await body(leased) }
        return try await withConnection { conn in try await withConnections(n, leased + [conn], body) }
    }

    func checkBreaker() throws(StoreError) {
        guard status.allowRequest() else {
            throw StoreError(.circuitOpen, "the store's circuit breaker is open; knowledge-base writes are refused for now")
        }
    }

    // MARK: Loading

    func nodeVersions() async throws -> [(String, Int64)] {
        var out: [(String, Int64)] = []
        try await withConnection { conn in
            for try await row in try await conn.checkedQuery("SELECT node_id, version FROM kb_nodes", logger: logger)
                .decode((String, Int64).self) { out.append(row) }
        }
        return out
    }

    // The load of a node: KnowledgeBaseLoad.swift.

    // MARK: The change feed

    private func startFollowing() {
        let listen = Task { [self] in await listenLoop() }
        let poll = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.pollInterval)
                await catchUpAll()
            }
        }
        tasks.withLock { $0 += [listen, poll] }
    }

    /// LISTEN on a connection of its own; reconnects after an error (the poll covers the gap).
    private func listenLoop() async {
        while !Task.isCancelled {
            do {
                let conn = try await PostgresAdmin.connect(settings, logger: logger)
                defer { Task { try? await conn.close() } }
                try await conn.listen(on: Self.channel) { notifications in
                    await catchUpAll()  // what was committed before LISTEN took effect
                    for try await n in notifications {
                        if sessions.notified(n.payload) { continue }  // a session's update (subscribers fetch it)
                        guard let (nodeID, version) = Self.parse(n.payload) else {
                            logger.warning("ignoring a notification that is not kato's", metadata: ["channel": "\(Self.channel)"])
                            continue
                        }
                        await follow(nodeID, to: version)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("knowledge-base change feed interrupted; reconnecting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// `VERSION:NODE` → (node, version); nil for anything else.
    static func parse(_ payload: String) -> (String, Int64)? {
        guard let colon = payload.firstIndex(of: ":"), let version = Int64(payload[..<colon]), version > 0 else { return nil }
        let nodeID = String(payload[payload.index(after: colon)...])
        return nodeID.isEmpty ? nil : (nodeID, version)
    }

    private func catchUpAll() async {
        guard let versions = try? await nodeVersions() else { return }
        for (nodeID, version) in versions { await follow(nodeID, to: version) }
    }

    private func follow(_ nodeID: String, to version: Int64) async {
        do {
            try await node(nodeID).catchUp(to: version)
        } catch {
            logger.error("cannot apply knowledge-base changes", metadata: ["node_id": "\(nodeID)", "error": "\(error)"])
        }
    }
}
