import GRPCH2
import Synchronization
import XCTest

@testable import KatoServer

/// `Drain`: the moment streaming calls end with UNAVAILABLE `SERVER_DRAINING` while unary calls
/// finish. Waiters return when it begins (or when their task is cancelled); a call racing the
/// drain ends with the drain's status; a call started during it is refused before it runs.
final class DrainTests: XCTestCase {
    /// A count shared with the tasks under test.
    final class Count: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var now: Int { value.load(ordering: .relaxed) }
    }

    private static func context() -> ServerContext {
        ServerContext(path: "/kato.v2.PredictService/SubscribePredictions", requestMetadata: Metadata(), deadline: nil, peer: "t")
    }

    private static func assertDraining(_ error: (any Error)?, file: StaticString = #filePath, line: UInt = #line) {
        let status = error.map { RPCError(mapping: $0) }
        XCTAssertEqual(status?.code, .unavailable, "\(String(describing: error))", file: file, line: line)
        XCTAssertTrue(status?.message.contains("draining") ?? false, "\(String(describing: status))", file: file, line: line)
    }

    func testWaitersReturnWhenTheDrainBeginsAndBeginIsIdempotent() async {
        let drain = Drain()
        XCTAssertFalse(drain.isDraining)
        let returned = Count()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await drain.wait(); returned.add() } }
            try? await Task.sleep(for: .milliseconds(50))
            XCTAssertEqual(returned.now, 0, "nobody returns before the drain")
            drain.begin()
            drain.begin()
        }
        XCTAssertEqual(returned.now, 3)
        XCTAssertTrue(drain.isDraining)
        await drain.wait()  // after the drain began: at once
    }

    func testACancelledWaiterReturnsWithoutTheDrain() async {
        let drain = Drain()
        let waiter = Task { await drain.wait() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        XCTAssertFalse(drain.isDraining)
    }

    func testACallThatEndsOnItsOwnIsNotTouched() async throws {
        let drain = Drain()
        let ran = Count()
        try await drain.racing(Self.context()) { ran.add() }
        XCTAssertEqual(ran.now, 1)
    }

    /// A streaming call that would run on for a minute.
    private static func longStream(_ drain: Drain, _ started: Count) async throws {
        try await drain.racing(context()) {
            started.add()
            try await Task.sleep(for: .seconds(60))
        }
    }

    func testACallRunningWhenTheDrainBeginsEndsUnavailable() async {
        let drain = Drain()
        let started = Count()
        let call = Task { [drain, started] in try await DrainTests.longStream(drain, started) }
        while started.now == 0 { try? await Task.sleep(for: .milliseconds(5)) }
        drain.begin()
        let result = await call.result
        if case .failure(let error) = result { Self.assertDraining(error) } else { XCTFail("the call ended normally") }
    }

    func testACallStartedDuringTheDrainIsRefusedBeforeItRuns() async {
        let drain = Drain()
        drain.begin()
        let ran = Count()
        do {
            try await drain.racing(Self.context()) { ran.add() }
            XCTFail("not refused")
        } catch {
            Self.assertDraining(error)
        }
        XCTAssertEqual(ran.now, 0)
    }
}
