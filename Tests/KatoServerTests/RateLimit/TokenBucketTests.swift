import KatoSupport
import XCTest

@testable import KatoServer

final class TokenBucketTests: XCTestCase {
    let t0 = ContinuousClock.now

    func testAFullBucketGrantsItsBurstThenRefusesWithTheWaitForOneToken() {
        var bucket = TokenBucket(limit: .init(rate: 2, burst: 3), now: t0)
        for _ in 0..<3 { XCTAssertNil(bucket.take(now: t0)) }
        let wait = bucket.take(now: t0)
        XCTAssertEqual(wait, .milliseconds(500))
    }

    func testTokensRefillWithTimeUpToTheBurst() {
        var bucket = TokenBucket(limit: .init(rate: 10, burst: 2), now: t0)
        XCTAssertNil(bucket.take(now: t0))
        XCTAssertNil(bucket.take(now: t0))
        XCTAssertNotNil(bucket.take(now: t0))
        XCTAssertNil(bucket.take(now: t0 + .milliseconds(100)))
        XCTAssertTrue(bucket.isFull(now: t0 + .seconds(60)))
        XCTAssertEqual(bucket.tokens, 2)
    }

    func testARefusedRequestTakesNothing() {
        var bucket = TokenBucket(limit: .init(rate: 1, burst: 1), now: t0)
        XCTAssertNil(bucket.take(now: t0))
        for _ in 0..<100 { XCTAssertNotNil(bucket.take(now: t0 + .milliseconds(10))) }
        XCTAssertNil(bucket.take(now: t0 + .seconds(1)))
    }

    func testKATOSpecProfileIsSixtyPerMinute() {
        var bucket = TokenBucket(limit: .perMinute(60), now: t0)
        for _ in 0..<60 { XCTAssertNil(bucket.take(now: t0)) }
        XCTAssertEqual(bucket.take(now: t0), .seconds(1))
    }

    func testKeyedLimiterKeepsOneBucketPerKeyAndStaysBounded() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 1, burst: 1), maxKeys: 10)
        XCTAssertNil(limiter.acquire("a", now: t0))
        XCTAssertNotNil(limiter.acquire("a", now: t0))
        XCTAssertNil(limiter.acquire("b", now: t0))
        for i in 0..<100 { _ = limiter.acquire("k\(i)", now: t0 + .seconds(10)) }
        XCTAssertLessThanOrEqual(limiter.keyCount, 21)
    }

    func testKeyedLimiterOnTheCallClockRefillsAtItsRate() {
        let limiter = KeyedRateLimiter(limit: .init(rate: 2, burst: 2))
        let t = CallClock.now()
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertNil(limiter.acquire("a", at: t))
        XCTAssertEqual(limiter.acquire("a", at: t), .milliseconds(500))
        XCTAssertEqual(limiter.acquire("a", at: t + 400_000_000), .milliseconds(100))
        XCTAssertNil(limiter.acquire("a", at: t + 500_000_000))
        XCTAssertNil(limiter.acquire("b", at: t + 500_000_000))
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

    func testConcurrencyLimiterRefusesOverTheLimit() {
        let limiter = ConcurrencyLimiter(limit: 2)
        XCTAssertTrue(limiter.enter())
        XCTAssertTrue(limiter.enter())
        XCTAssertFalse(limiter.enter())
        limiter.leave()
        XCTAssertTrue(limiter.enter())
        XCTAssertEqual(limiter.current, 2)
    }
}
