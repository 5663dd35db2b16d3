import KatoEngine
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

    public init(limits: ObservationLimits = .defaults, store: KnowledgeStore? = nil) {
        self.limits = limits
        self.store = store
    }

    private func entry(for nodeID: String) -> (engine: KatoEngine, durable: DurableNode) {
        nodes.withLock { n in
            if let entry = n[nodeID] { return entry }
            let durable = store?.node(nodeID) ?? DurableNode(inMemory: nodeID)
            let entry = (KatoEngine(knowledgeBase: durable.knowledgeBase, limits: limits), durable)
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
    public var level: DegradationLevel { store?.status.level ?? .normal }

    public var nodeCount: Int { nodes.withLock { $0.count } }
}
