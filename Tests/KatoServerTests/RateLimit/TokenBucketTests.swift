import XCTest

@testable import KatoServer

/// One token bucket: a burst at once, refilled at its rate; a refused request takes nothing.
/// (Per-key buckets: KeyedRateLimiterTests; the concurrency cap: ConcurrencyLimiterTests.)
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
}
