import GRPCH2
import KatoEngine
import KatoPostgres
import KatoStore
import Synchronization

/// One knowledge base per node id, created on first use. Node ids map one-to-one to
/// knowledge bases (KATO's sanitised processor ids collide, Q18; ours do not).
///
/// With a ``KnowledgeStore`` every node is durable (loaded at startup, each write committed
/// before it is acknowledged); without one, nodes live in memory only.
public final class NodeRegistry: Sendable {
    private let nodes = Mutex<[String: (engine: KatoEngine, durable: DurableNode)]>([:])
    let limits: ObservationLimits
    /// The durable store, nil when running in memory only.
    public let store: KnowledgeStore?
    /// The knowledge bases shared with other replicas through PostgreSQL (`--postgres`).
    public let replicated: PostgresKnowledgeStore?
    /// How one large prediction is split over cores (`--prediction-threads`); nil: never.
    let parallelism: PredictionParallelism?
    /// How long a call waits for this replica to catch up with changes committed elsewhere.
    static let catchUpBound: Duration = .seconds(2)

    public init(
        limits: ObservationLimits = .defaults, store: KnowledgeStore? = nil, replicated: PostgresKnowledgeStore? = nil,
        predictionThreads: PredictionThreads = PredictionThreads(threads: 1)
    ) {
        self.limits = limits
        self.parallelism = predictionThreads.parallelism
        self.store = store
        self.replicated = replicated
    }

    private func entry(for nodeID: String) -> (engine: KatoEngine, durable: DurableNode) {
        nodes.withLock { n in
            if let entry = n[nodeID] { return entry }
            // Replicated nodes commit in ``writing(_:_:_:_:)``; their DurableNode only runs the writes.
            let durable = store?.node(nodeID)
                ?? replicated.map { DurableNode(inMemory: nodeID, knowledgeBase: $0.node(nodeID).knowledgeBase) }
                ?? DurableNode(inMemory: nodeID)
            var engine = KatoEngine(knowledgeBase: durable.knowledgeBase, limits: limits)
            engine.parallelism = parallelism
            let entry = (engine, durable)
            n[nodeID] = entry
            return entry
        }
    }

    public func engine(for nodeID: String) -> KatoEngine {
        entry(for: nodeID).engine
    }

    /// The node's knowledge base with its durability (every write goes through it).
    public func durable(for nodeID: String) -> DurableNode {
        entry(for: nodeID).durable
    }

    /// The degradation level now (NORMAL without a store).
    public var level: DegradationLevel { store?.status.level ?? replicated?.status.level ?? .normal }

    /// Runs `body` — a call's engine work that may change the node's knowledge base. With a
    /// shared knowledge base it holds the node's write lock across replicas and commits the
    /// changes before returning (a failure: UNAVAILABLE, the changes undone); otherwise it just
    /// runs it (the embedded store acknowledges through tickets).
    func writing<R>(_ nodeID: String, _ context: ServerContext, _ what: String, _ body: () throws -> R) async throws -> R {
        guard let replicated else { return try body() }
        do {
            return try await replicated.node(nodeID).write(body)
        } catch let error as StoreError {
            throw KatoError.store(error, what)
        }
    }

    /// Read-your-writes across replicas: with a shared knowledge base, waits until this replica
    /// has applied every change committed before the call (UNAVAILABLE past the bound).
    func awaitCurrent(_ nodeID: String, _ context: ServerContext) async throws {
        guard let replicated else { return }
        do {
            try await replicated.node(nodeID).awaitCurrent(bound: Self.catchUpBound)
        } catch let error as StoreError {
            throw KatoError.unavailable(reason: "KNOWLEDGE_BASE_BEHIND", message:
                "this replica could not catch up with the knowledge base in time; nothing was changed, retry: \(error.message)"
            )
        }
    }

    public var nodeCount: Int { nodes.withLock { $0.count } }
}
