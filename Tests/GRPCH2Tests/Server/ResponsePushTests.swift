import EchoProto
import GRPCH2
import Logging
import ProtobufCBridge
import Synchronization
import XCTest

/// Push sources (`ResponsePusher`) and writers against their stream's buffer limits, over a real
/// loopback socket with the runtime's client: a source parked over `maxBufferedPushBytes`, and a
/// writer suspended over `maxBufferedResponseBytes`, must be taken from / resumed again once the
/// stream drains, whatever the limit — else the call is stranded until its client gives up.
final class ResponsePushTests: XCTestCase {
    /// A source that behaves like a subscription's mailbox: it schedules a take only when none
    /// is pending (the take clears it), so while the connection keeps it parked it only queues.
    final class Mailbox: ResponsePushSource {
        private let state = Mutex((queued: [FramedMessage](), scheduled: false, taken: 0))

        func add(_ message: [UInt8], pusher: ResponsePusher) {
            let schedule = state.withLock { s in
                s.queued.append(FramedMessage(message))
                defer { s.scheduled = true }
                return !s.scheduled
            }
            if schedule { pusher.schedule(self) }
        }

        func takeResponses(into responses: inout [FramedMessage]) {
            state.withLock { s in
                responses.append(contentsOf: s.queued)
                s.taken += s.queued.count
                s.queued = []
                s.scheduled = false
            }
        }

        var taken: Int { state.withLock { $0.taken } }
    }

    static func response(_ index: Int, size: Int) -> [UInt8] {
        var r = Grpch2_Test_EchoResponse()
        r.index = Int32(index)
        r.payload = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
        return r.serializedBytes()
    }

    /// `Echo/ServerStream` answered by pushing `count` messages of `payload.count` bytes, in
    /// batches of 16 with a pause between (so later takes find the stream's buffer still full);
    /// the handler ends once every message was taken, or fails after 10 s (the source stranded).
    static let pushing = ServerMethod(path: Grpch2_Test_Echo.serverStream.path, kind: .serverStreaming) { requests, writer, _ in
        var iterator = requests.makeAsyncIterator()
        guard let bytes = try await iterator.next() else { throw RPCError(code: .internalError, message: "no request") }
        let request = try ServerMethod.decodeRequest(bytes, as: Grpch2_Test_EchoRequest.self)
        let count = Int(request.count), size = request.payload.count
        guard let pusher = writer.pusher else { throw RPCError(code: .failedPrecondition, message: "no pusher") }
        let mailbox = Mailbox()
        for i in 0..<count {
            mailbox.add(response(i, size: size), pusher: pusher)
            if i % 16 == 15 { try await Task.sleep(for: .milliseconds(2)) }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while mailbox.taken < count {
            guard ContinuousClock.now < deadline else {
                throw RPCError(code: .deadlineExceeded, message: "stranded: \(mailbox.taken) of \(count) messages taken")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// `Echo/ServerStream` answered by writing (`writer.write` suspends over the buffer limit).
    static let writing = ServerMethod.serverStreaming(Grpch2_Test_Echo.serverStream) { request, writer, _ in
        for i in 0..<Int(request.count) {
            var r = Grpch2_Test_EchoResponse()
            r.index = Int32(i)
            r.payload = request.payload
            try await writer.write(r)
        }
    }

    func serve(_ method: ServerMethod, configure: (inout ServerConfiguration) -> Void,
               count: Int, size: Int) async throws -> [Int32] {
        var router = ServiceRouter()
        router.register(method)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        let server = GRPCServer(configuration: configuration, router: router, logger: Logger(label: "test"))
        let address = try await server.start()
        let client = GRPCClient(configuration: .init(host: "127.0.0.1", port: address.port!))
        do {
            try await client.connect()
            var request = Grpch2_Test_EchoRequest()
            request.count = Int32(count)
            request.payload = [UInt8](repeating: 1, count: size)
            var indices: [Int32] = []
            for try await m in try await client.serverStreaming(Grpch2_Test_Echo.serverStream, request, timeout: .seconds(30)) {
                XCTAssertEqual(m.payload.count, size)
                indices.append(m.index)
            }
            await client.close()
            await server.shutdown()
            return indices
        } catch {
            await client.close()
            await server.shutdown()
            throw error
        }
    }

    func testAParkedPushSourceIsTakenFromAgainAtTheDefaultLimit() async throws {
        let indices = try await serve(Self.pushing, configure: { _ in }, count: 160, size: 40_000)
        XCTAssertEqual(indices, (0..<160).map(Int32.init))
    }

    func testAPushSourceParkedWithAPushLimitOfZeroIsNotStranded() async throws {
        // Parked as soon as anything is queued; half of the limit is 0: a rule of "drained below
        // half" never held, and the source waited for a take that never came.
        let indices = try await serve(Self.pushing, configure: { $0.maxBufferedPushBytes = 0 }, count: 160, size: 40_000)
        XCTAssertEqual(indices, (0..<160).map(Int32.init))
    }

    func testAPushSourceParkedWithAPushLimitOfOneByteIsNotStranded() async throws {
        let indices = try await serve(Self.pushing, configure: { $0.maxBufferedPushBytes = 1 }, count: 160, size: 40_000)
        XCTAssertEqual(indices, (0..<160).map(Int32.init))
    }

    func testAWriterSuspendedWithAResponseBufferOfZeroBytesResumes() async throws {
        let indices = try await serve(Self.writing, configure: { $0.maxBufferedResponseBytes = 0 }, count: 50, size: 40_000)
        XCTAssertEqual(indices, (0..<50).map(Int32.init))
    }

    func testAWriterSuspendedWithAResponseBufferOfOneByteResumes() async throws {
        let indices = try await serve(Self.writing, configure: { $0.maxBufferedResponseBytes = 1 }, count: 50, size: 40_000)
        XCTAssertEqual(indices, (0..<50).map(Int32.init))
    }

    // MARK: pushCoalescingDelay

    func testPushesCoalescedOverADelayAllArriveInOrderThroughParking() async throws {
        let indices = try await serve(Self.pushing, configure: { $0.pushCoalescingDelay = .milliseconds(20) }, count: 160, size: 40_000)
        XCTAssertEqual(indices, (0..<160).map(Int32.init))
    }

    func testPushesCoalescedUpToAFewStreamsAllArriveInOrder() async throws {
        let indices = try await serve(Self.pushing, configure: {
            $0.pushCoalescingDelay = .milliseconds(50)
            $0.pushCoalescingStreams = 2  // the early take at the threshold, then the timer's
        }, count: 160, size: 1_000)
        XCTAssertEqual(indices, (0..<160).map(Int32.init))
    }

    /// Many streams of one connection pushing at once, with a coalescing delay: one push job
    /// takes from several sources (`takePushed` in passes: every take first, then the
    /// deliveries), some of them parked over the push limit meanwhile and taken again later;
    /// every call still gets all its messages, in order, and no other call's.
    func testPushesOfManyStreamsOnOneConnectionAllArriveInOrder() async throws {
        var router = ServiceRouter()
        router.register(Self.pushing)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.pushCoalescingDelay = .milliseconds(10)
        let server = GRPCServer(configuration: configuration, router: router, logger: Logger(label: "test"))
        let address = try await server.start()
        let client = GRPCClient(configuration: .init(host: "127.0.0.1", port: address.port!))
        do {
            try await client.connect()
            let streams = 8, count = 96
            let received = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
                for call in 0..<streams {
                    group.addTask {
                        var request = Grpch2_Test_EchoRequest()
                        request.count = Int32(count)
                        // Calls of different sizes: the large ones park, the small ones do not.
                        let size = call % 2 == 0 ? 20_000 : 100 + call
                        request.payload = [UInt8](repeating: 1, count: size)
                        var indices: [Int32] = []
                        for try await m in try await client.serverStreaming(Grpch2_Test_Echo.serverStream, request, timeout: .seconds(30)) {
                            XCTAssertEqual(m.payload.count, size)
                            indices.append(m.index)
                        }
                        return (call, indices)
                    }
                }
                var all: [Int: [Int32]] = [:]
                for try await (call, indices) in group { all[call] = indices }
                return all
            }
            XCTAssertEqual(received.count, streams)
            for (call, indices) in received {
                XCTAssertEqual(indices, (0..<count).map(Int32.init), "call \(call)")
            }
            await client.close()
            await server.shutdown()
        } catch {
            await client.close()
            await server.shutdown()
            throw error
        }
    }

    /// Two pushes one after the other on an idle connection with a coalescing delay: the first
    /// is taken at once, the second not before the delay since the first take has passed.
    func testWithACoalescingDelayTheFirstPushIsTakenAtOnceAndTheNextWaitsForTheDelay() async throws {
        let delay = Duration.milliseconds(1500)
        final class Timings: Sendable { let value = Mutex<(first: Duration, second: Duration)?>(nil) }
        let timings = Timings()
        let method = ServerMethod(path: Grpch2_Test_Echo.serverStream.path, kind: .serverStreaming) { requests, writer, _ in
            var iterator = requests.makeAsyncIterator()
            _ = try await iterator.next()
            guard let pusher = writer.pusher else { throw RPCError(code: .failedPrecondition, message: "no pusher") }
            let mailbox = Mailbox()
            let clock = ContinuousClock(), start = clock.now
            func taken(_ n: Int) async throws {
                while mailbox.taken < n { try await Task.sleep(for: .milliseconds(1)) }
            }
            mailbox.add(Self.response(0, size: 10), pusher: pusher)
            try await taken(1)
            let first = clock.now - start
            mailbox.add(Self.response(1, size: 10), pusher: pusher)
            try await taken(2)
            timings.value.withLock { $0 = (first, clock.now - start) }
        }
        let indices = try await serve(method, configure: { $0.pushCoalescingDelay = delay }, count: 2, size: 10)
        XCTAssertEqual(indices, [0, 1])
        let t = try XCTUnwrap(timings.value.withLock { $0 })
        // The first take happened after `start`; the second is due a delay after the first.
        XCTAssertGreaterThanOrEqual(t.second, delay, "the second push did not wait for the coalescing delay")
        XCTAssertLessThan(t.first, delay, "the first push on an idle connection waited for the delay")
    }
}
