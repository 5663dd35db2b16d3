import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// A call's body, whatever transport started it: single-response calls buffer their one
/// message and hand it over with the status in one completion; streaming calls write each
/// message live and complete without any; errors are mapped with the call's context.
final class CallBodyTests: XCTestCase {
    typealias S = CoreTestSupport
    static let unary = MethodDescriptor<S.Text, S.Text>(path: "/test.Body/Unary", kind: .unary)
    static let split = MethodDescriptor<S.Text, S.Text>(path: "/test.Body/Split", kind: .serverStreaming)

    struct NeedsContext: RPCErrorConvertible {
        var rpcError: RPCError { RPCError(code: .internalError, message: "no context") }
        func rpcError(in context: ServerContext) -> RPCError {
            RPCError(code: .aborted, message: "in \(context.path)")
        }
    }

    static func run(_ method: ServerMethod, _ requests: [String], kind: CallKind) async -> RecordingStreamOwner {
        let owner = RecordingStreamOwner()
        let body = MethodEntry(method).callBody(
            requests: .completed(requests.map(S.bytes)), context: S.context(method.path, kind: kind),
            handle: StreamHandle(owner: owner, streamID: 7))
        await body()
        return owner
    }

    func testAUnaryResponseIsBufferedAndCompletesWithItsStatusInOneStep() async throws {
        let method = ServerMethod.unary(Self.unary) { request, _ in S.text(request.value + "!") }
        let record = await Self.run(method, ["hi"], kind: .unary).snapshot
        XCTAssertTrue(record.written.isEmpty, "nothing written live")
        XCTAssertEqual(record.completions.count, 1)
        XCTAssertEqual(record.completions[0].streamID, 7)
        XCTAssertNil(record.completions[0].error)
        XCTAssertEqual(try S.values(record.completions[0].messages), ["hi!"])
    }

    func testAStreamingResponseIsWrittenLiveAndCompletesWithoutMessages() async throws {
        let method = ServerMethod.serverStreaming(Self.split) { request, writer, _ in
            for c in request.value { try await writer.write(S.text(String(c))) }
        }
        let record = await Self.run(method, ["ab"], kind: .serverStreaming).snapshot
        XCTAssertEqual(record.written.map(\.0), [7, 7])
        XCTAssertEqual(try S.values(record.written.map(\.1)), ["a", "b"])
        XCTAssertEqual(record.completions.count, 1)
        XCTAssertEqual(record.completions[0].messages, [])
        XCTAssertNil(record.completions[0].error)
    }

    func testAHandlersErrorIsMappedWithTheCallsContext() async {
        let method = ServerMethod.unary(Self.unary) { _, _ -> S.Text in throw NeedsContext() }
        let record = await Self.run(method, ["x"], kind: .unary).snapshot
        XCTAssertEqual(record.completions.count, 1)
        XCTAssertEqual(record.completions[0].error?.code, .aborted)
        XCTAssertEqual(record.completions[0].error?.message, "in /test.Body/Unary")
        XCTAssertEqual(record.completions[0].messages, [])
    }
}
