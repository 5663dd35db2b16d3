import Synchronization

/// A metric written by the sharded backends: it renders its own sample lines.
protocol ShardedMetric: AnyObject, Sendable {
    func emit(into buffer: inout [UInt8])
}

/// The handles of one Prometheus metric type (`counter`, `histogram`) by name and labels, as
/// swift-prometheus's registry keeps them: one handle per distinct pair, written grouped by
/// name under one `# TYPE` line. Handles are made at startup, so the lock is off the call path.
final class ShardedMetricFamilies<Metric: ShardedMetric>: Sendable {
    let type: String
    private let metrics = Mutex<[(name: String, labels: [(String, String)], metric: Metric)]>([])

    init(type: String) {
        self.type = type
    }

    /// The handle of `name` + `labels`, made by `make` the first time.
    func metric(name: String, labels: [(String, String)], make: () -> Metric) -> Metric {
        metrics.withLock { list in
            if let existing = list.first(where: { $0.name == name && $0.labels.elementsEqual(labels, by: ==) }) {
                return existing.metric
            }
            let m = make()
            list.append((name, labels, m))
            return m
        }
    }

    func remove(_ handle: Metric) {
        metrics.withLock { list in list.removeAll { $0.metric === handle } }
    }

    /// Appends every handle in the Prometheus text format.
    func emit(into buffer: inout [UInt8]) {
        let list = metrics.withLock { $0 }
        var typed = Set<String>()
        for name in list.map(\.name) where typed.insert(name).inserted {
            buffer.append(contentsOf: "# TYPE \(name) \(type)\n".utf8)
            for entry in list where entry.name == name { entry.metric.emit(into: &buffer) }
        }
    }
}
