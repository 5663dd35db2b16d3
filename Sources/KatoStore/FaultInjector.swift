import Foundation

/// TEST ONLY: makes the store fail a fraction of its operations at random, so tests can check
/// that no failure is silent and that the breaker and degradation levels work. The server builds
/// one only when started with `--enable-test-faults`; production runs never have one.
///
/// The rate comes from `KATO_TEST_STORE_FAULT_RATE` (0…1); when `controlFile` is set, its content
/// (a number) replaces the rate, re-read at most every 100 ms, so a test can start and stop faults
/// while the server runs. Faults hit write transactions (just before COMMIT, after the writes, so
/// the rollback path is real); half are transient (retried), half are not. Reads are not faulted, so
/// the rollback of memory to disk after a failed write can succeed.
public final class FaultInjector: Sendable {
    private struct State {
        var rate: Double
        var lastRead: ContinuousClock.Instant?
    }

    private let state: Locked<State>
    private let controlFile: String?

    /// Added before every commit: a slow disk (`KATO_TEST_STORE_COMMIT_DELAY_MS`), so tests can
    /// hold a learn in flight (e.g. across a shutdown).
    let commitDelay: Duration

    public init(rate: Double, controlFile: String? = nil, commitDelay: Duration = .zero) {
        state = Locked(State(rate: rate))
        self.controlFile = controlFile
        self.commitDelay = commitDelay
    }

    /// From `KATO_TEST_STORE_FAULT_RATE` and `KATO_TEST_STORE_FAULT_CONTROL`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> FaultInjector {
        FaultInjector(
            rate: Double(env["KATO_TEST_STORE_FAULT_RATE"] ?? "") ?? 0, controlFile: env["KATO_TEST_STORE_FAULT_CONTROL"],
            commitDelay: .milliseconds(Int(env["KATO_TEST_STORE_COMMIT_DELAY_MS"] ?? "") ?? 0))
    }

    /// The current rate.
    public var rate: Double {
        let now = ContinuousClock.now
        if let controlFile {
            let due = state.withLock { s in s.lastRead.map { now - $0 >= .milliseconds(100) } ?? true }
            if due {
                let text = (try? String(contentsOfFile: controlFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                state.withLock { s in
                    s.lastRead = now
                    if let text, let v = Double(text) { s.rate = v }
                }
            }
        }
        return state.withLock { $0.rate }
    }

    /// Sleeps the commit delay (on the store's writer thread).
    func delayCommit() {
        guard commitDelay > .zero else { return }
        Thread.sleep(forTimeInterval: Double(commitDelay.components.seconds) + Double(commitDelay.components.attoseconds) / 1e18)
    }

    /// Throws an injected fault with the current probability.
    func maybeFail(_ operation: String) throws(StoreError) {
        let r = rate
        guard r > 0, Double.random(in: 0..<1) < r else { return }
        let transient = Bool.random()
        throw StoreError(.injected, "injected fault in \(operation) (test-only --enable-test-faults)", transient: transient)
    }
}
