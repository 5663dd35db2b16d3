import XCTest

@testable import KatoServer

/// A subscriber's mailbox: order, newest wins, batches, the end, cancellation.
final class UpdateMailboxTests: XCTestCase {
    private func u(_ n: UInt8) -> [UInt8] { [n] }

    func testQueuedUpdatesArriveInOrderInOneBatch() async throws {
        let mailbox = UpdateMailbox(capacity: 8)
        for n in 1...3 { mailbox.yield(u(UInt8(n))) }
        let batch = try await mailbox.next()
        XCTAssertEqual(batch, [u(1), u(2), u(3)])
    }

    func testASlowReaderKeepsOnlyTheNewestCapacityUpdates() async throws {
        let mailbox = UpdateMailbox(capacity: 3)
        for n in 1...10 { mailbox.yield(u(UInt8(n))) }
        let batch = try await mailbox.next()
        XCTAssertEqual(batch, [u(8), u(9), u(10)])
    }

    func testAWaitingReaderIsWokenByTheNextUpdate() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let reader = Task { try await mailbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        mailbox.yield(u(7))
        let batch = try await reader.value
        XCTAssertEqual(batch, [u(7)])
    }

    func testFinishDeliversWhatIsQueuedThenTheError() async throws {
        struct Ended: Error {}
        let mailbox = UpdateMailbox(capacity: 4)
        mailbox.yield(u(1))
        mailbox.finish(throwing: Ended())
        mailbox.yield(u(2))  // after the end: dropped
        let batch = try await mailbox.next()
        XCTAssertEqual(batch, [u(1)])
        do {
            _ = try await mailbox.next()
            XCTFail("expected the end's error")
        } catch is Ended {}
    }

    func testFinishWithoutErrorEndsAWaitingReader() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let reader = Task { try await mailbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        mailbox.finish()
        let batch = try await reader.value
        XCTAssertNil(batch)
    }

    func testCancellingTheReaderEndsItsWaitWithNil() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let reader = Task { try await mailbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        let batch = try await reader.value
        XCTAssertNil(batch)
        let cancelledBefore = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await mailbox.next()
        }
        let second = try await cancelledBefore.value
        XCTAssertNil(second)
    }
}
