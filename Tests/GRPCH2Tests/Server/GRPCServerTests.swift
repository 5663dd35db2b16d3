import Dispatch
import EchoProto
import GRPCH2
import Logging
import Synchronization
import XCTest

/// `GRPCServer.shutdown()` and the calls its grace period cuts off: a handler task cancelled
/// then may keep running (cancellation is cooperative), and what it does must be over before
/// shutdown returns (a restart's hand-over snapshots its sessions right after), within the
/// exit bound; past it, shutdown says how many still run.
final class GRPCServerTests: XCTestCase {
    /// A unary handler that ignores cancellation for `delayMs`, then records that it finished.
    struct Stubborn: ServiceProvider {
        let box: Box
        var serviceName: String { Grpch2_Test_Echo.serviceName }
        var methods: [ServerMethod] {
            [
                .unary(Grpch2_Test_Echo.unary) { [box] request, _ in
                    box.started.add(1, ordering: .relaxed)
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(request.delayMs))) { c.resume() }
                    }
                    box.finished.add(1, ordering: .relaxed)
                    return Grpch2_Test_EchoResponse()
                },
            ]
        }
    }

    struct HandlerNeverStarted: Error {}

    final class Box: Sendable {
        let started = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
    }

    /// Starts a server (grace 200 ms, the given exit bound), a call taking `handlerMs`, shuts the
    /// server down while it runs: (shutdown's answer, handlers finished when it returned, the
    /// call's status code).
    func shutDownDuring(handlerMs: Int, exitBound: Duration) async throws -> (Int, Int, StatusCode?) {
        let box = Box()
        var router = ServiceRouter()
        router.register(Stubborn(box: box))
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.keepalive.gracePeriod = .milliseconds(200)
        configuration.handlerExitBound = exitBound
        let server = GRPCServer(configuration: configuration, router: router, logger: Logger(label: "test"))
        let address = try await server.start()
        let client = GRPCClient(configuration: .init(host: "127.0.0.1", port: address.port!))
        try await client.connect()
        var request = Grpch2_Test_EchoRequest()
        request.delayMs = Int32(handlerMs)
        let call = Task { () -> StatusCode? in
            do {
                let call = try await client.start(path: Grpch2_Test_Echo.unary.path)
                call.send(request, end: true)
                for try await _ in call.responses(Grpch2_Test_EchoResponse.self) {}
                return .ok
            } catch let error as RPCError {
                return error.code
            } catch {
                return nil
            }
        }
        // The call is under way once its handler runs (a fixed 100 ms was not always enough on a
        // loaded machine: the shutdown then refused the call, and no handler was cut off).
        let deadline = ContinuousClock.now + .seconds(30)
        while box.started.load(ordering: .relaxed) == 0 {
            guard ContinuousClock.now < deadline else { throw HandlerNeverStarted() }
            try await Task.sleep(for: .milliseconds(5))
        }
        let stillRunning = await server.shutdown()
        let finishedThen = box.finished.load(ordering: .relaxed)
        let code = await call.value
        await client.close()
        return (stillRunning, finishedThen, code)
    }

    func testShutdownWaitsForAHandlerCutOffByTheGracePeriodToEnd() async throws {
        // 3 s: far longer than the 200 ms grace however late a loaded machine starts the shutdown.
        let (stillRunning, finished, code) = try await shutDownDuring(handlerMs: 3000, exitBound: .seconds(10))
        XCTAssertNotEqual(code, .ok, "the call outlived the 200 ms grace period: it is cut off")
        XCTAssertEqual(stillRunning, 0)
        XCTAssertEqual(finished, 1, "shutdown returned before the cut-off handler ended")
    }

    func testShutdownPastTheExitBoundReportsTheHandlerStillRunning() async throws {
        let (stillRunning, finished, _) = try await shutDownDuring(handlerMs: 5000, exitBound: .milliseconds(300))
        XCTAssertEqual(stillRunning, 1, "a handler running past the exit bound is reported")
        XCTAssertEqual(finished, 0)
    }
}
