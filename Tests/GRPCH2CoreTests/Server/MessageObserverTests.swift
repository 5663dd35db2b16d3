import Synchronization
import XCTest

@testable import GRPCH2Core

/// A message observer sees each request as the handler reads it (and can end the call there)
/// and each response once it is queued; observers chain in the order they were installed.
final class MessageObserverTests: XCTestCase {
    final class Events: Sendable {
        let all = Mutex<[String]>([])
        func add(_ e: String) { all.withLock { $0.append(e) } }
        var list: [String] { all.withLock { $0 } }
    }

    func testFollowedByRunsBothObserversFirstOneFirst() throws {
        let events = Events()
        let a = MessageObserver(received: { events.add("a received") }, sent: { events.add("a sent") })
        let b = MessageObserver(received: { events.add("b received") }, sent: { events.add("b sent") })
        let both = a.followed(by: b)
        try both.received()
        both.sent()
        XCTAssertEqual(events.list, ["a received", "b received", "a sent", "b sent"])
    }

    func testAReceivedHookThatThrowsStopsTheLaterOneAndTheRead() async throws {
        struct Limit: Error {}
        let events = Events()
        var reads = 0
        let observer = MessageObserver(received: {
            events.add("first")
            if events.list.count > 2 { throw Limit() }
        }).followed(by: MessageObserver(received: { events.add("second") }))
        let stream = RequestStream<[UInt8]>.completed([[1], [2], [3]]).observed(by: observer)
        do {
            for try await _ in stream { reads += 1 }
            XCTFail("the second message must be refused")
        } catch {
            XCTAssertTrue(error is Limit)
        }
        XCTAssertEqual(reads, 1)
        XCTAssertEqual(events.list, ["first", "second", "first"])
    }

    func testSentRunsOnlyAfterTheSinkTookTheMessage() async throws {
        struct Closed: Error {}
        final class ClosingSink: ResponseSink {
            let open = Mutex(true)
            func write(_ message: [UInt8]) async throws {
                if !open.withLock({ $0 }) { throw Closed() }
            }
        }
        let events = Events()
        let sink = ClosingSink()
        let writer = ResponseWriter<[UInt8]>(sink: sink, encode: { $0 }).observed(by: MessageObserver(sent: { events.add("sent") }))
        try await writer.write([1])
        sink.open.withLock { $0 = false }
        do {
            try await writer.write([2])
            XCTFail("the closed sink throws")
        } catch {
            XCTAssertTrue(error is Closed)
        }
        XCTAssertEqual(events.list, ["sent"], "a message the sink refused is not counted as sent")
    }

    func testContextObserversAccumulateInInstallationOrder() throws {
        let events = Events()
        var context = CoreTestSupport.context("/s/m")
        XCTAssertNil(context.messageObserver)
        context.observeMessages(MessageObserver(received: { events.add("outer") }))
        context.observeMessages(MessageObserver(received: { events.add("inner") }))
        try context.messageObserver?.received()
        XCTAssertEqual(events.list, ["outer", "inner"])
    }
}
