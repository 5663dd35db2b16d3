import CoreMetrics
import KatoSupport
import Prometheus
import Synchronization

/// swift-metrics timers as Prometheus histograms without a lock per observation.
///
/// swift-prometheus's histogram takes a lock on every `record`; `grpc_server_handling_seconds`
/// and `kato_predictions_seconds` are recorded by every call on every event-loop thread, so
/// that lock was contended (futex system calls). Here an observation is two relaxed atomic
/// adds (its bucket, the sum) in a shard picked by the recording thread (`pthread_self`,
/// hashed), so threads rarely even share a cache line; shards are summed when `/metrics` is
/// scraped. The text is what swift-prometheus writes for a histogram (`_bucket{…,le=…}`
/// cumulative, `_sum`, `_count`, one `# TYPE … histogram` per name).
final class ShardedHistograms: Sendable {
    let buckets: [Duration]
    private let histograms = ShardedMetricFamilies<Histogram>(type: "histogram")

    init(buckets: [Duration]) {
        self.buckets = buckets
    }

    /// The histogram of `name` + `labels` (one per distinct pair, as the registry does).
    func histogram(name: String, labels: [(String, String)]) -> Histogram {
        histograms.metric(name: name, labels: labels) { Histogram(name: name, labels: labels, bounds: buckets) }
    }

    func remove(_ handler: Histogram) { histograms.remove(handler) }

    /// Appends every histogram in the Prometheus text format.
    func emit(into buffer: inout [UInt8]) { histograms.emit(into: &buffer) }

    final class Histogram: TimerHandler, ShardedMetric {
        let name: String
        let renderedLabels: String
        /// Upper bounds in nanoseconds, ascending.
        let bounds: [Int64]
        let boundNames: [String]
        let shards: [Shard]
        static let shardCount = 8

        final class Cell: Sendable {
            let value = Atomic<Int64>(0)
        }

        final class Shard: Sendable {
            /// Per bucket (not cumulative), then one past the last bound (+Inf only).
            let counts: [Cell]
            let sumNanoseconds = Cell()
            init(cells: Int) { counts = (0..<cells).map { _ in Cell() } }
        }

        init(name: String, labels: [(String, String)], bounds: [Duration]) {
            self.name = name
            renderedLabels = labels.map { key, value in "\(key)=\"\(Self.escaped(value))\"" }.joined(separator: ",")
            self.bounds = bounds.map { Self.nanoseconds($0) }
            boundNames = bounds.map(\.bucketRepresentation)
            shards = (0..<Self.shardCount).map { _ in Shard(cells: bounds.count + 1) }
        }

        func recordNanoseconds(_ duration: Int64) {
            let shard = shards[ThreadShard.index(count: shards.count)]
            var i = 0
            while i < bounds.count && bounds[i] < duration { i += 1 }
            shard.counts[i].value.wrappingAdd(1, ordering: .relaxed)
            shard.sumNanoseconds.value.wrappingAdd(duration, ordering: .relaxed)
        }

        func emit(into buffer: inout [UInt8]) {
            var counts = [Int64](repeating: 0, count: bounds.count + 1)
            var sum: Int64 = 0
            for shard in shards {
                for (i, cell) in shard.counts.enumerated() { counts[i] += cell.value.load(ordering: .relaxed) }
                sum += shard.sumNanoseconds.value.load(ordering: .relaxed)
            }
            let prefix = renderedLabels.isEmpty ? "" : renderedLabels + ","
            var cumulative: Int64 = 0
            for (i, bound) in boundNames.enumerated() {
                cumulative += counts[i]
                buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(cumulative)\n".utf8)
            }
            cumulative += counts[bounds.count]
            buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n".utf8)
            let labels = renderedLabels.isEmpty ? " " : "{\(renderedLabels)} "
            buffer.append(contentsOf: "\(name)_sum\(labels)\(Duration.nanoseconds(sum).bucketRepresentation)\n".utf8)
            buffer.append(contentsOf: "\(name)_count\(labels)\(cumulative)\n".utf8)
        }

        static func nanoseconds(_ d: Duration) -> Int64 {
            let (seconds, attoseconds) = d.components
            return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }

        static func escaped(_ value: String) -> String {
            var out = ""
            for c in value.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(c)
                }
            }
            return out
        }

    }
}

/// swift-prometheus's factory with timers and counters replaced by `ShardedHistograms` and
/// `ShardedCounters`.
struct KatoMetricsFactory: MetricsFactory {
    let prometheus: PrometheusMetricsFactory
    let histograms: ShardedHistograms
    let counters: ShardedCounters

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counters.counter(name: label, labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        prometheus.makeMeter(label: label, dimensions: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        histograms.histogram(name: label, labels: dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let c = handler as? ShardedCounters.Counter { counters.remove(c) }
    }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { prometheus.destroyFloatingPointCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { prometheus.destroyRecorder(handler) }

    func destroyTimer(_ handler: any TimerHandler) {
        if let h = handler as? ShardedHistograms.Histogram { histograms.remove(h) }
    }
}
