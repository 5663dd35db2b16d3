import Testing

@testable import KatoStore

/// Transient store failures are retried with exponential backoff and full jitter, up to the
/// policy's attempts; other failures are thrown at once.
@Suite struct RetryPolicyTests {
    /// Quick enough for a test: 1 µs, doubling, capped at 4 µs.
    let policy = RetryPolicy(maxAttempts: 4, initialBackoff: .microseconds(1), maxBackoff: .microseconds(4))

    final class Attempts {
        var count = 0
        var retried: [String] = []
    }

    @Test func aTransientFailureIsRetriedUntilItSucceeds() throws {
        let attempts = Attempts()
        let value = try policy.run({ () throws(StoreError) -> Int in
            attempts.count += 1
            if attempts.count < 3 { throw StoreError(.database, "busy \(attempts.count)", transient: true) }
            return 42
        }, onRetry: { attempts.retried.append($0.message) })
        #expect(value == 42)
        #expect(attempts.count == 3)
        #expect(attempts.retried == ["busy 1", "busy 2"])
    }

    @Test func aTransientFailureThatLastsIsThrownAfterTheLastAttempt() {
        let attempts = Attempts()
        #expect(throws: StoreError(.database, "busy", transient: true)) {
            try policy.run { () throws(StoreError) -> Int in
                attempts.count += 1
                throw StoreError(.database, "busy", transient: true)
            }
        }
        #expect(attempts.count == 4)
    }

    @Test func aFailureThatIsNotTransientIsNeverRetried() {
        let attempts = Attempts()
        #expect(throws: StoreError(.full, "disk full")) {
            try policy.run({ () throws(StoreError) -> Int in
                attempts.count += 1
                throw StoreError(.full, "disk full")
            }, onRetry: { _ in Issue.record("no retry expected") })
        }
        #expect(attempts.count == 1)
    }

    @Test func theBackoffDoublesUpToItsCapWithJitterBetweenHalfAndAll() {
        let slow = RetryPolicy(maxAttempts: 9, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(35))
        let expected: [Int: Duration] = [1: .milliseconds(10), 2: .milliseconds(20), 3: .milliseconds(35), 6: .milliseconds(35)]
        for (attempt, full) in expected {
            for _ in 0..<50 {
                let pause = slow.backoff(after: attempt)
                #expect(pause >= full / 2 && pause <= full, "attempt \(attempt): \(pause)")
            }
        }
        #expect(RetryPolicy.defaults.maxAttempts == 3)
    }
}
