import Dispatch
import XCTest
@testable import GRPCH2

/// The cancelled handler tasks a server's shutdown waits for: kept until they end, and the wait
/// bounded.
final class HandlerTasksTests: XCTestCase {
    /// A task that ignores cancellation for `ms`.
    func stubborn(ms: Int) -> Task<Void, Never> {
        Task {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(ms)) { c.resume() }
            }
        }
    }

    func testWaitReturnsZeroOnceEveryTrackedTaskHasEnded() async {
        let tasks = HandlerTasks()
        let task = stubborn(ms: 200)
        task.cancel()
        tasks.track(task)
        XCTAssertEqual(tasks.running, 1)
        let left = await tasks.waitForAll(within: .seconds(5))
        XCTAssertEqual(left, 0)
        XCTAssertEqual(tasks.running, 0, "an ended task is no longer kept")
    }

    func testWaitPastItsBoundCountsTheTasksStillRunning() async {
        let tasks = HandlerTasks()
        tasks.track(stubborn(ms: 3000))
        tasks.track(stubborn(ms: 1))
        let start = ContinuousClock.now
        let left = await tasks.waitForAll(within: .milliseconds(200))
        XCTAssertEqual(left, 1)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2), "the wait is bounded")
    }
}
