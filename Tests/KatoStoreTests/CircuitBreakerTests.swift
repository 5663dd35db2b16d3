import Testing
@testable import KatoStore

@Suite struct CircuitBreakerTests {
    let t0 = ContinuousClock.now
    let config = CircuitBreaker.Configuration(failureThreshold: 5, resetTimeout: .seconds(30))

    @Test func opensAfterFiveConsecutiveFailures() {
        var b = CircuitBreaker(configuration: config)
        for _ in 0..<4 { b.recordFailure(at: t0) }
        #expect(b.state(at: t0) == .closed)
        b.recordFailure(at: t0)
        #expect(b.state(at: t0) == .open)
        let allowed = b.allowRequest(at: t0 + .seconds(29))
        #expect(!allowed)
    }

    @Test func aSuccessResetsTheCount() {
        var b = CircuitBreaker(configuration: config)
        for _ in 0..<4 { b.recordFailure(at: t0) }
        b.recordSuccess()
        for _ in 0..<4 { b.recordFailure(at: t0) }
        #expect(b.state(at: t0) == .closed)
    }

    @Test func halfOpensAfterTheTimeoutAndLetsOneProbeThrough() {
        var b = CircuitBreaker(configuration: config)
        for _ in 0..<5 { b.recordFailure(at: t0) }
        let later = t0 + .seconds(30)
        #expect(b.state(at: later) == .halfOpen)
        let probe = b.allowRequest(at: later)
        let second = b.allowRequest(at: later)
        #expect(probe && !second)
        b.recordSuccess()
        #expect(b.state(at: later) == .closed)
    }

    @Test func aFailedProbeReopens() {
        var b = CircuitBreaker(configuration: config)
        for _ in 0..<5 { b.recordFailure(at: t0) }
        let later = t0 + .seconds(31)
        let probe = b.allowRequest(at: later)
        #expect(probe)
        b.recordFailure(at: later)
        #expect(b.state(at: later) == .open)
        #expect(b.state(at: later + .seconds(29)) == .open)
        #expect(b.state(at: later + .seconds(30)) == .halfOpen)
    }

    @Test func aReachableStoreResetsTheClosedBreakersFailureCount() {
        // Failures of one pool between successes of the other are not consecutive failures.
        let status = StoreStatus(breaker: config)
        for _ in 0..<3 {
            for _ in 0..<4 { status.recordFailure(StoreError(.database, "x"), at: t0) }
            status.recordReachable()
        }
        #expect(status.snapshot(at: t0).breaker == .closed)
        for _ in 0..<5 { status.recordFailure(StoreError(.database, "x"), at: t0) }
        #expect(status.snapshot(at: t0).breaker == .open)
    }

    @Test func statusMapsTheBreakerToDegradationLevels() {
        let status = StoreStatus(breaker: .init(failureThreshold: 2, resetTimeout: .seconds(30)))
        #expect(status.snapshot(at: t0).level == .normal)
        status.recordFailure(StoreError(.database, "x"), at: t0)
        #expect(status.snapshot(at: t0).level == .degraded)
        #expect(status.snapshot(at: t0 + .seconds(31)).level == .normal)
        status.recordFailure(StoreError(.database, "x"), at: t0)
        #expect(status.snapshot(at: t0).level == .essential)
        #expect(status.snapshot(at: t0).breaker == .open)
        status.setMaintenance("k", "corrupt")
        #expect(status.snapshot(at: t0).level == .maintenance)
    }
}
