import Metrics

/// The store's metrics, through the swift-metrics facade (the executable picks the backend).
/// Made when the store opens, so every family is on `/metrics` from the start, before the first
/// write: alert rules and dashboards can rely on the names (deploy/prometheus, deploy/grafana).
struct StoreMetrics: Sendable {
    /// Write transactions committed (each one fsync, any number of learns of any nodes).
    let commits = Counter(label: "kato_store_commits_total")
    /// Learns acknowledged after their commit.
    let learnsAcknowledged = Counter(label: "kato_store_learns_acknowledged_total")
    /// Write transactions that failed after their retries (their learns were refused).
    let writeFailures = Counter(label: "kato_store_write_failures_total")
    /// Transient failures retried inside one write transaction.
    let retries = Counter(label: "kato_store_retries_total")
    /// Time of one committed write transaction, retries and the fsync of COMMIT included.
    let commitSeconds = Metrics.Timer(label: "kato_store_commit_seconds")
}

extension Duration {
    /// The duration in whole nanoseconds (metrics' `recordNanoseconds`, timeouts, `nanosleep`).
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
