import Foundation
import KatoStore
import Metrics
import Synchronization

/// The shared knowledge base's metrics, through the swift-metrics facade (made when the store
/// opens, so every family is on `/metrics` from the start). KATO's plan asks for pool utilisation;
/// the change feed's lag says how far behind a replica's predictions may be.
final class PostgresMetrics: Sendable {
    /// Connections this replica may hold (`--postgres-pool-size`).
    let poolSize = Gauge(label: "kato_postgres_pool_size")
    /// Connections leased right now.
    let poolInUse = Gauge(label: "kato_postgres_pool_in_use")
    /// Time a call waited for a connection of the pool.
    let poolWait = Metrics.Timer(label: "kato_postgres_pool_wait_seconds")
    /// Changes committed by other replicas and applied here.
    let changesApplied = Counter(label: "kato_kb_changes_applied_total")
    /// Time from a change's commit (on another replica) to its application here.
    let replicationLag = Metrics.Timer(label: "kato_kb_replication_lag_seconds")
    private let inUse = Atomic<Int>(0)

    init(poolSize: Int) {
        self.poolSize.record(poolSize)
        poolInUse.record(0)
    }

    func leased(waited: Duration) {
        poolInUse.record(inUse.add(1, ordering: .relaxed).newValue)
        poolWait.recordNanoseconds(waited.nanoseconds)
    }

    func released() {
        poolInUse.record(inUse.subtract(1, ordering: .relaxed).newValue)
    }

    /// A change committed at `committedAt` (seconds since 1970, PostgreSQL's clock) applied now.
    func applied(committedAt: Double) {
        changesApplied.increment()
        let lag = max(0, Date().timeIntervalSince1970 - committedAt)
        replicationLag.recordNanoseconds(Int64(lag * 1e9))
    }
}
