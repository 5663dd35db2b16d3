import KatoEngine
import Synchronization

/// One knowledge base per node id, created on first use. Node ids map one-to-one to
/// knowledge bases (KATO's sanitised processor ids collide, Q18; ours do not).
public final class NodeRegistry: Sendable {
    private let engines = Mutex<[String: KatoEngine]>([:])
    let limits: ObservationLimits

    public init(limits: ObservationLimits = .defaults) {
        self.limits = limits
    }

    public func engine(for nodeID: String) -> KatoEngine {
        engines.withLock { e in
            if let engine = e[nodeID] { return engine }
            let engine = KatoEngine(knowledgeBase: KnowledgeBase(), limits: limits)
            e[nodeID] = engine
            return engine
        }
    }

    public var nodeCount: Int { engines.withLock { $0.count } }
}
