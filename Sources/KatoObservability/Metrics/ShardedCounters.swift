import CoreMetrics
import KatoSupport
import Synchronization

/// swift-metrics counters as Prometheus counters whose increments do not share a cache line
/// between threads.
///
/// swift-prometheus's counter is one atomic: `grpc_server_started_total`, `_handled_total`,
/// `_msg_received_total` / `_msg_sent_total` and `kato_observations_total` are incremented by
/// every call on both event-loop threads, so that cache line moved between the cores on every
/// call. Here an increment is one relaxed atomic add in a shard picked by the thread (as
/// `ShardedHistograms` does); shards are summed when `/metrics` is scraped. The text is what
/// swift-prometheus writes for a counter (`# TYPE name counter` once per name, then
/// `name{labels} value`).
final class ShardedCounters: Sendable {
    private let counters = ShardedMetricFamilies<Counter>(type: "counter")

    /// The counter of `name` + `labels` (one per distinct pair, as the registry does).
    func counter(name: String, labels: [(String, String)]) -> Counter {
        counters.metric(name: name, labels: labels) { Counter(name: name, labels: labels) }
    }

    func remove(_ handler: Counter) { counters.remove(handler) }

    /// Appends every counter in the Prometheus text format.
    func emit(into buffer: inout [UInt8]) { counters.emit(into: &buffer) }

    final class Counter: CounterHandler, ShardedMetric {
        let name: String
        let renderedLabels: String
        let shards: [Cell]

        /// One shard's count. The padding keeps two shards' counts out of one 64-byte cache
        /// line wherever the allocator places them.
        final class Cell: Sendable {
            let value = Atomic<Int64>(0)
            private let padding: (Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0)
        }

        init(name: String, labels: [(String, String)]) {
            self.name = name
            renderedLabels = labels.map { key, value in
                "\(key)=\"\(ShardedHistograms.Histogram.escaped(value))\""
            }.joined(separator: ",")
            shards = (0..<ShardedHistograms.Histogram.shardCount).map { _ in Cell() }
        }

        func increment(by amount: Int64) {
            shards[ThreadShard.index(count: shards.count)].value.wrappingAdd(amount, ordering: .relaxed)
        }

        func reset() {
            for cell in shards { cell.value.store(0, ordering: .relaxed) }
        }

        var value: Int64 { shards.reduce(0) { $0 + $1.value.load(ordering: .relaxed) } }

        func emit(into buffer: inout [UInt8]) {
            let labels = renderedLabels.isEmpty ? " " : "{\(renderedLabels)} "
            buffer.append(contentsOf: "\(name)\(labels)\(value)\n".utf8)
        }
    }
}
