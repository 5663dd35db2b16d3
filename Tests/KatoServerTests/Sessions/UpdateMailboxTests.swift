import GRPCH2Core
import Synchronization
import XCTest

@testable import KatoServer

/// A subscriber's mailbox: order, newest wins, batches, the end, cancellation.
final class UpdateMailboxTests: XCTestCase {
    private func u(_ n: UInt8) -> [UInt8] { [n] }

    func testQueuedUpdatesArriveInOrderInOneBatch() async throws {
        let mailbox = UpdateMailbox(capacity: 8)
        for n in 1...3 { mailbox.yield(u(UInt8(n))) }
        let batch = try await mailbox.next()?.map { Array($0.message) }
        XCTAssertEqual(batch, [u(1), u(2), u(3)])
    }

    func testASlowReaderKeepsOnlyTheNewestCapacityUpdates() async throws {
        let mailbox = UpdateMailbox(capacity: 3)
        for n in 1...10 { mailbox.yield(u(UInt8(n))) }
        let batch = try await mailbox.next()?.map { Array($0.message) }
        XCTAssertEqual(batch, [u(8), u(9), u(10)])
    }

    func testAWaitingReaderIsWokenByTheNextUpdate() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let reader = Task { try await mailbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        mailbox.yield(u(7))
        let batch = try await reader.value?.map { Array($0.message) }
        XCTAssertEqual(batch, [u(7)])
    }

    func testFinishDeliversWhatIsQueuedThenTheError() async throws {
        struct Ended: Error {}
        let mailbox = UpdateMailbox(capacity: 4)
        mailbox.yield(u(1))
        mailbox.finish(throwing: Ended())
        mailbox.yield(u(2))  // after the end: dropped
        let batch = try await mailbox.next()?.map { Array($0.message) }
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
        let batch = try await reader.value?.map { Array($0.message) }
        XCTAssertNil(batch)
    }

    func testCancellingTheReaderEndsItsWaitWithNil() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let reader = Task { try await mailbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        let batch = try await reader.value?.map { Array($0.message) }
        XCTAssertNil(batch)
        let cancelledBefore = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await mailbox.next()
        }
        let second = try await cancelledBefore.value?.map { Array($0.message) }
        XCTAssertNil(second)
    }
}

/// The mailbox in push mode (`attach`): the connection takes updates itself.
final class UpdateMailboxPushTests: XCTestCase {
    private func u(_ n: UInt8) -> [UInt8] { [n] }

    /// Records each `schedule` a mailbox makes, as the HTTP/2 connection would receive it.
    private final class RecordingOwner: ServerStreamOwner {
        let scheduled = Mutex(0)
        var supportsPush: Bool { true }
        func push(streamID: Int32, source: any ResponsePushSource, sent: (@Sendable () -> Void)?) {
            scheduled.withLock { $0 += 1 }
        }
        func write(streamID: Int32, message: [UInt8]) async throws {}
        func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context: ServerContext) {}
        func complete(streamID: Int32, framedMessage: consuming [UInt8]) {}
        func consumed(streamID: Int32) {}
    }

    private func pusher(_ owner: RecordingOwner) throws -> ResponsePusher {
        let writer = ResponseWriter<[UInt8]>(sink: LiveSink(handle: StreamHandle(owner: owner, streamID: 1)), encode: { $0 }, passesThrough: true)
        return try XCTUnwrap(writer.pusher)
    }

    func testAttachingWithQueuedUpdatesSchedulesOneTakeOfAllOfThemInOrder() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        for n in 1...3 { mailbox.yield(u(UInt8(n))) }
        mailbox.attach(try pusher(owner))
        XCTAssertEqual(owner.scheduled.withLock { $0 }, 1)
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [u(1), u(2), u(3)])
    }

    func testUpdatesYieldedBeforeTheTakeJoinItAndTheNextOneSchedulesAgain() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        mailbox.attach(try pusher(owner))
        XCTAssertEqual(owner.scheduled.withLock { $0 }, 0, "nothing queued: nothing to take")
        for n in 1...5 { mailbox.yield(u(UInt8(n))) }
        XCTAssertEqual(owner.scheduled.withLock { $0 }, 1)
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, (1...5).map { u(UInt8($0)) })
        mailbox.yield(u(6))
        XCTAssertEqual(owner.scheduled.withLock { $0 }, 2)
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [u(6)])
    }

    func testAConnectionThatDoesNotTakeLeavesOnlyTheNewestCapacityUpdates() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 3)
        mailbox.attach(try pusher(owner))
        for n in 1...100 { mailbox.yield(u(UInt8(n))) }
        XCTAssertEqual(owner.scheduled.withLock { $0 }, 1, "one take scheduled, however many updates")
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [u(98), u(99), u(100)])
    }

    /// The queue keeps its oldest update in the mailbox itself and the rest in an array: every
    /// take, one or several updates, into an empty or a partly filled array, at capacity 1 or
    /// past the capacity, hands them over oldest first, newest kept.
    func testTakesOfOneOrSeveralUpdatesIntoAnyArrayKeepOrderAndTheNewest() throws {
        let owner = RecordingOwner()
        let one = UpdateMailbox(capacity: 1)
        one.attach(try pusher(owner))
        for n in 1...5 { one.yield(u(UInt8(n))) }
        XCTAssertEqual(one.takeResponses().map { Array($0.message) }, [u(5)])
        one.yield(u(6))
        XCTAssertEqual(one.takeResponses().map { Array($0.message) }, [u(6)])
        XCTAssertEqual(one.takeResponses().map { Array($0.message) }, [], "taken already")

        let mailbox = UpdateMailbox(capacity: 4)
        mailbox.attach(try pusher(owner))
        var taken = [FramedMessage(u(0))]
        mailbox.yield(u(1))
        mailbox.takeResponses(into: &taken)
        for n in 2...4 { mailbox.yield(u(UInt8(n))) }
        mailbox.takeResponses(into: &taken)
        for n in 5...11 { mailbox.yield(u(UInt8(n))) }  // past the capacity: 8...11 kept
        mailbox.takeResponses(into: &taken)
        XCTAssertEqual(taken.map { Array($0.message) }, [0, 1, 2, 3, 4, 8, 9, 10, 11].map { u(UInt8($0)) })
        mailbox.yield(u(12))
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [u(12)])
    }

    func testTheTransformRunsOnTakeAndNilSkipsAnUpdate() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        mailbox.attach(try pusher(owner)) { Array($0.message) == [2] ? .skipped : .replaced(FramedMessage(Array($0.message) + Array($0.message))) }
        for n in 1...3 { mailbox.yield(u(UInt8(n))) }
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [[1, 1], [3, 3]])
    }

    func testDeliveredAsPublishedKeepsOrderAroundSkippedAndReplacedUpdates() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        mailbox.attach(try pusher(owner)) { update in
            switch Array(update.message) {
            case [2], [5]: return .skipped
            case [4]: return .replaced(FramedMessage([40]))
            default: return .asPublished
            }
        }
        for n in 1...6 { mailbox.yield(u(UInt8(n))) }
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [[1], [3], [40], [6]])
    }

    func testTheTransformIsSkippedWhilePredictionsAreOnAndRunsOnceTheyAreOff() throws {
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        var off = FeatureFlags()
        off.predictions = false
        let flags = LiveFlags()
        mailbox.attach(try pusher(owner), asPublishedWhile: flags) { _ in .replaced(FramedMessage([0])) }
        mailbox.yield(u(1))
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [[1]], "predictions on: as published")
        flags.replace(with: off)
        mailbox.yield(u(2))
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [[0]], "predictions off: transformed")
    }

    func testWaitForEndReturnsTheEndsErrorAndLeavesQueuedUpdatesToTheCaller() async throws {
        struct Ended: Error {}
        let owner = RecordingOwner()
        let mailbox = UpdateMailbox(capacity: 8)
        mailbox.attach(try pusher(owner))
        let waiter = Task { await mailbox.waitForEnd() }
        try await Task.sleep(for: .milliseconds(20))
        mailbox.yield(u(1))
        mailbox.finish(throwing: Ended())
        let end = await waiter.value
        XCTAssertTrue(end is Ended)
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [u(1)])
        mailbox.yield(u(2))
        XCTAssertEqual(mailbox.takeResponses().map { Array($0.message) }, [], "after the end: dropped")
    }

    func testCancellingTheWaitingTaskEndsItsWaitWithoutAnError() async throws {
        let mailbox = UpdateMailbox(capacity: 4)
        let waiter = Task { await mailbox.waitForEnd() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        let end = await waiter.value
        XCTAssertNil(end)
    }

    func testEveryMailboxOfAPublishSharesTheOneFramedArray() throws {
        let owner = RecordingOwner()
        let framed = FramedMessage([1, 2, 3])
        let mailboxes = (0..<3).map { _ in UpdateMailbox(capacity: 4) }
        for m in mailboxes {
            m.attach(try pusher(owner))
            m.yield(framed)
        }
        for m in mailboxes {
            let taken = m.takeResponses()
            XCTAssertEqual(taken, [framed])
            taken[0].bytes.withUnsafeBufferPointer { a in
                framed.bytes.withUnsafeBufferPointer { b in XCTAssertEqual(a.baseAddress, b.baseAddress, "framed once, not copied per subscriber") }
            }
        }
    }

    func testAMappedWriterHasNoPusher() {
        let owner = RecordingOwner()
        let writer = ResponseWriter<[UInt8]>(sink: LiveSink(handle: StreamHandle(owner: owner, streamID: 1)), encode: { $0 }, passesThrough: true)
        let mapped: ResponseWriter<[UInt8]> = writer.map { $0 + [0] }
        XCTAssertNil(mapped.pusher)
    }
}
