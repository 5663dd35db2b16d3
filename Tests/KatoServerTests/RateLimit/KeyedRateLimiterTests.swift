import KatoSupport
import XCTest

@testable import KatoServer

/// One GCRA bucket per key (principal, session): what `TokenBucket` grants, per key, lock-free,
/// bounded in memory, and reconfigurable while running (the feature flags).
final class KeyedRateLimiterTests: XCTestCase {
    let t0 = ContinuousClock.now

    func testOneBucketPerKeyAndTheTableStaysBounded() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 1, burst: 1), maxKeys: 10)
        XCTAssertNil(limiter.acquire("a", now: t0))
        XCTAssertNotNil(limiter.acquire("a", now: t0))
        XCTAssertNil(limiter.acquire("b", now: t0))
        for i in 0..<100 { _ = limiter.acquire("k\(i)", now: t0 + .seconds(10)) }
        XCTAssertLessThanOrEqual(limiter.keyCount, 21)
    }

    func testOnTheCallClockABucketRefillsAtItsRate() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 2, burst: 2))
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertEqual(limiter.acquire("a", at: t), .milliseconds(500))
        XCTAssertEqual(limiter.acquire("a", at: t + 400_000_000), .milliseconds(100))
        XCTAssertNil(limiter.acquire("a", at: t + 500_000_000))
        XCTAssertNil(limiter.acquire("b", at: t + 500_000_000))
    }

    func testABucketEvictedFromTheTableIsNotServedFromAThreadCache() {
        // maxKeys 2: the third key evicts both others (busy, since nothing refills in time).
        let limiter = KeyedRateLimiter(limit: .init(rate: 0.001, burst: 1), maxKeys: 2)
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNotNil(limiter.acquire("a", at: t))  // "a" is this thread's last key now
        XCTAssertNil(limiter.acquire("b", at: t))
        XCTAssertNil(limiter.acquire("c", at: t))
        XCTAssertEqual(limiter.keyCount, 1)
        // "a" starts again with a full bucket; the thread's cached (empty) one would refuse.
        XCTAssertNil(limiter.acquire("a", at: t))
    }

    func testASwitchFromASlowRateToAFastOneKeepsTheTokensInUseNotTheSlowWait() {
        let limiter = KeyedRateLimiter(limit: .perMinute(2))
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertEqual(limiter.acquire("a", at: t), .seconds(30))
        limiter.reconfigure(.init(rate: 10, burst: 2), at: t)
        // Two tokens in use at 100 ms each: one is back after 100 ms, not after the slow 30 s.
        XCTAssertEqual(limiter.acquire("a", at: t + 50_000_000), .milliseconds(50))
        XCTAssertNil(limiter.acquire("a", at: t + 100_000_000))
        XCTAssertEqual(limiter.acquire("a", at: t + 100_000_000), .milliseconds(100))
    }

    func testASwitchFromAFastRateToASlowOneGivesNoTokensBeyondTheBurst() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 10, burst: 2))
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNil(limiter.acquire("a", at: t))
        limiter.reconfigure(.perMinute(2), at: t)
        XCTAssertEqual(limiter.acquire("a", at: t), .seconds(30))
    }

    func testReconfiguringToNoRateStopsLimitingAndARateStartsAgain() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 1, burst: 1))
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNotNil(limiter.acquire("a", at: t))
        limiter.reconfigure(nil)
        for _ in 0..<10 { XCTAssertNil(limiter.acquire("a", at: t)) }
        limiter.reconfigure(.init(rate: 0, burst: 5))
        XCTAssertNil(limiter.acquire("a", at: t), "rate 0 in a reconfiguration: off too")
        limiter.reconfigure(.init(rate: 1, burst: 1))
        XCTAssertNotNil(limiter.acquire("a", at: t), "back on at the same rate, the bucket's state kept")
    }

    func testALimiterMadeWithoutRefillKeepsItsFixedTokensWhateverTheReconfiguration() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 0, burst: 2))
        limiter.reconfigure(nil)
        limiter.reconfigure(.init(rate: 100, burst: 100))
        XCTAssertNil(limiter.acquire("a", now: t0))
        XCTAssertNil(limiter.acquire("a", now: t0))
        XCTAssertNotNil(limiter.acquire("a", now: t0 + .seconds(3600)), "two tokens in all, never refilled")
    }
}
