import Foundation
import KatoStore
import Logging

extension KatoServerApp {
    /// Opens the data directory's store (loading every node), or nil in memory-only mode.
    static func openStore(_ c: Configuration, logger: Logger) throws -> KnowledgeStore? {
        guard let directory = c.dataDirectory else { return nil }
        let store = try KnowledgeStore.open(
            directory: directory, configuration: c.store, faults: c.storeFaults, logger: logger,
            preloaded: c.takeOver?.preloaded, changed: c.takeOver?.changedNodes ?? [])
        let ms = store.loadStatistics.duration.components.seconds * 1000
            + store.loadStatistics.duration.components.attoseconds / 1_000_000_000_000_000
        logger.info("knowledge base loaded", metadata: [
            "data_dir": "\(directory)", "nodes": "\(store.nodeIDs.count)",
            "patterns": "\(store.loadStatistics.patterns)", "load_ms": "\(ms)",
            "preloaded": "\(c.takeOver?.preloaded != nil)", "reread_nodes": "\(c.takeOver?.changedNodes.count ?? 0)",
        ])
        if c.storeFaults != nil {
            logger.warning("TEST-ONLY store fault injection is enabled (--enable-test-faults)")
        }
        return store
    }
}

/// The store's status as the admin endpoints and the `kato_degradation_level` gauge read it.
struct StoreDegradationStatus: DegradationStatusProvider {
    let status: StoreStatus

    var degradationStatus: DegradationStatus {
        let s = status.snapshot()
        var checks = [
            "circuit_breaker": s.breaker.description,
            "circuit_breaker_state": String(s.breaker.rawValue),
            "store": s.maintenanceReason ?? (s.lastError.map { "last error: \($0)" } ?? "ok"),
        ]
        if s.level != .normal { checks["off"] = Self.off(s.level) }
        return DegradationStatus(level: s.level.rawValue, name: s.level.description, checks: checks)
    }

    static func off(_ level: DegradationLevel) -> String {
        switch level {
        case .normal: ""
        case .degraded: "auto-learn, emotives"
        case .essential: "auto-learn, emotives, knowledge-base writes"
        case .maintenance: "everything but health"
        }
    }
}

extension KatoServerApp.Configuration {
    /// Consecutive store failures that open the circuit breaker (KATO: 5).
    public var storeBreakerFailureThreshold: Int {
        get { store.breaker.failureThreshold }
        set { store.breaker.failureThreshold = newValue }
    }

    /// How long the breaker stays open before a probe (KATO: 30 s).
    public var storeBreakerResetTimeout: Duration {
        get { store.breaker.resetTimeout }
        set { store.breaker.resetTimeout = newValue }
    }

    /// TEST ONLY: store fault injection from `KATO_TEST_STORE_FAULT_RATE` / `KATO_TEST_STORE_FAULT_CONTROL`.
    public mutating func enableTestStoreFaults(environment: [String: String]) {
        storeFaults = FaultInjector.fromEnvironment(environment)
    }
}

/// A failure of an offline store tool, with a message for the operator.
public struct StoreToolError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The offline knowledge-base tools (`verify`, `export`, `import`) for executables that do not
/// link KatoStore themselves; see `KnowledgeBaseMaintenance`.
public enum StoreTools {
    /// (passed, report text).
    public static func verify(directory: String) throws(StoreToolError) -> (Bool, String) {
        do {
            let r = try KnowledgeBaseMaintenance.verify(directory: directory)
            return (r.ok, r.summary)
        } catch {
            throw StoreToolError(message: error.message)
        }
    }

    public static func export(directory: String, to handle: FileHandle) throws(StoreToolError) -> Int {
        do {
            return try KnowledgeBaseMaintenance.export(directory: directory, to: handle)
        } catch {
            throw StoreToolError(message: error.message)
        }
    }

    public static func importLines(_ data: Data, into directory: String, replace: Bool) throws(StoreToolError) -> Int {
        do {
            return try KnowledgeBaseMaintenance.importLines(data, into: directory, replace: replace)
        } catch {
            throw StoreToolError(message: error.message)
        }
    }
}

extension StoreTools {
    public static func benchmarkLearns(directory: String, writers: Int, learns: Int) async throws -> (Double, Double) {
        try await StoreBenchmark.durableLearns(directory: directory, writers: writers, learns: learns)
    }

    public static func benchmarkFill(directory: String, patterns: Int) async throws {
        try await StoreBenchmark.fill(directory: directory, patterns: patterns)
    }

    public static func benchmarkOpen(directory: String) throws -> (Duration, Int) {
        try StoreBenchmark.openTime(directory: directory)
    }
}
