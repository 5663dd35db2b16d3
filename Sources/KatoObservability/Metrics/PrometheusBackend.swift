import Metrics
import Prometheus

/// The Prometheus backend for swift-metrics, for executables to bootstrap (libraries only
/// use the facade). Timers become histograms with buckets from 50 µs to 10 s, recorded
/// without a lock (`ShardedHistograms`), counters sharded per thread (`ShardedCounters`);
/// gauges are swift-prometheus's (atomics).
public enum PrometheusBackend {
    /// Bucket bounds of `grpc_server_handling_seconds` and `kato_predictions_seconds`.
    public static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10),
    ]

    /// Bootstraps `MetricsSystem` (once per process) and returns the text-format page.
    public static func bootstrap() -> @Sendable () -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        let histograms = ShardedHistograms(buckets: durationBuckets)
        let counters = ShardedCounters()
        MetricsSystem.bootstrap(KatoMetricsFactory(prometheus: factory, histograms: histograms, counters: counters))
        _ = BufferedLogWriter.droppedLines  // on the page before the first dropped line
        return {
            var page = registry.emitToBuffer()
            counters.emit(into: &page)
            histograms.emit(into: &page)
            return page
        }
    }
}
