/// A write to a knowledge base as a value, with exactly the arguments the write was made with.
/// Applying the same changes in the same order to the same state gives the same state, bit for
/// bit (floating-point sums included): this is what replicas of one node exchange.
public enum KnowledgeBaseChange: Sendable, Hashable {
    case learn(events: [[String]], emotives: [String: Double], metadata: [String: [String]], persistence: Int)
    case clear
    /// ``KnowledgeBase/delete(named:)`` of the pattern with this bare hash.
    case delete(name: String)
}

extension KnowledgeBase {
    /// Makes the write `change` describes.
    public func apply(_ change: KnowledgeBaseChange) {
        switch change {
        case let .learn(events, emotives, metadata, persistence):
            learn(events: events, emotives: emotives, metadata: metadata, persistence: persistence)
        case .clear:
            clear()
        case let .delete(name):
            delete(named: name)
        }
    }

    /// Starts recording every write (``learn(events:emotives:metadata:persistence:)``, ``clear()``, ``delete(named:)``,
    /// ``apply(_:)``) until ``takeJournal()``; ``restore(_:)`` is not a write and is not recorded.
    public func startJournal() {
        journal.withLock { $0 = $0 ?? [] }
    }

    /// The writes recorded since ``startJournal()``, in order; recording stops.
    public func takeJournal() -> [KnowledgeBaseChange] {
        journal.withLock { j in
            defer { j = nil }
            return j ?? []
        }
    }
}
