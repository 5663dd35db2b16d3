import Synchronization
import XCTest

@testable import KatoServer

/// The concurrency cap admits up to its limit, refuses the next at once (counting nothing for
/// it), and admits again as calls leave.
final class ConcurrencyLimiterTests: XCTestCase {
    final class Inside: Sendable {
        let count = Atomic<Int>(0)
    }

    func testUpToTheLimitAreAdmittedAndTheNextIsRefused() {
        let limiter = ConcurrencyLimiter(limit: 2)
        XCTAssertTrue(limiter.enter())
        XCTAssertTrue(limiter.enter())
        XCTAssertFalse(limiter.enter())
        XCTAssertEqual(limiter.current, 2, "a refused call is not counted")
        limiter.leave()
        XCTAssertEqual(limiter.current, 1)
        XCTAssertTrue(limiter.enter())
        XCTAssertFalse(limiter.enter())
    }

    func testALimitOfZeroRefusesEveryCall() {
        let limiter = ConcurrencyLimiter(limit: 0)
        XCTAssertFalse(limiter.enter())
        XCTAssertEqual(limiter.current, 0)
    }

    func testConcurrentCallersNeverExceedTheLimit() async {
        let limiter = ConcurrencyLimiter(limit: 3)
        // Counted by the test: `current` also counts, for an instant, a call being refused.
        let inside = Inside()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    guard limiter.enter() else { return true }  // refused: nothing to check
                    let within = inside.count.wrappingAdd(1, ordering: .relaxed).newValue <= 3
                    await Task.yield()
                    inside.count.wrappingSubtract(1, ordering: .relaxed)
                    limiter.leave()
                    return within
                }
            }
            var all = true
            for await ok in group { all = all && ok }
            return all
        }
        XCTAssertTrue(admitted)
        XCTAssertEqual(limiter.current, 0, "every admitted call left")
    }
}
