import XCTest

@testable import GRPCH2Core

final class DeadlineStatusTests: XCTestCase {
    func testTheExceededErrorIsDeadlineExceeded() {
        XCTAssertEqual(DeadlineStatus.exceeded.code, .deadlineExceeded)
        XCTAssertEqual(DeadlineStatus.exceeded.message, "deadline exceeded")
    }

    func testADeadlinePassesAtItsInstantAndNeverWithoutOne() {
        let now = ContinuousClock.now
        XCTAssertFalse(DeadlineStatus.hasPassed(nil, now: now))
        XCTAssertTrue(DeadlineStatus.hasPassed(now, now: now))
        XCTAssertTrue(DeadlineStatus.hasPassed(now - .seconds(1), now: now))
        XCTAssertFalse(DeadlineStatus.hasPassed(now + .seconds(1), now: now))
    }

    func testCancellationAfterTheDeadlineIsReportedAsDeadlineExceeded() {
        let now = ContinuousClock.now
        XCTAssertEqual(DeadlineStatus.resolve(.cancelled, deadline: now - .milliseconds(1), now: now), .deadlineExceeded)
        // The client cancelled before its deadline, or had none: CANCELLED stays.
        XCTAssertEqual(DeadlineStatus.resolve(.cancelled, deadline: now + .seconds(5), now: now), .cancelled)
        XCTAssertEqual(DeadlineStatus.resolve(.cancelled, deadline: nil, now: now), .cancelled)
        // Any other outcome is the handler's own, deadline or not.
        XCTAssertEqual(DeadlineStatus.resolve(.ok, deadline: now - .seconds(1), now: now), .ok)
        XCTAssertEqual(DeadlineStatus.resolve(.notFound, deadline: now - .seconds(1), now: now), .notFound)
    }
}
