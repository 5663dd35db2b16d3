import GRPCH2Core
import XCTest

@testable import KatoServer

/// One record per call, shared by reference along the interceptor chain: what the handler
/// learns (session, node, principal) is what the interceptors around it read afterwards, and
/// the context's trace id and principal come from it when there is one.
final class CallRecordTests: XCTestCase {
    static func context() -> ServerContext {
        ServerContext(path: "/kato.v2.ObserveService/Observe", requestMetadata: Metadata(), deadline: nil, peer: "t")
    }

    func testWhatTheHandlerRecordsIsReadInOneStep() {
        let record = CallRecord(traceID: "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(record.fields.sessionID, "")
        record.record(sessionID: "session-1", nodeID: "n1")
        record.record(principal: "alice")
        XCTAssertEqual(record.sessionID, "session-1")
        XCTAssertEqual(record.nodeID, "n1")
        XCTAssertEqual(record.principal, "alice")
        XCTAssertNil(record.principalValue, "a name alone is not an authenticated principal")
        let f = record.fields
        XCTAssertEqual([f.sessionID, f.nodeID, f.principal], ["session-1", "n1", "alice"])
    }

    func testAnAuthenticatedPrincipalKeepsItsNameAndItsValue() {
        let record = CallRecord()
        let bob = Principal(name: "bob", role: .writer, nodes: .init(["n1"]))
        record.record(principal: bob)
        XCTAssertEqual(record.principal, "bob")
        XCTAssertEqual(record.principalValue, bob)
    }

    func testACopiedContextSeesTheSameRecordAndTakesItsTraceIDAndPrincipalFromIt() {
        var context = Self.context()
        XCTAssertNil(context.callRecord)
        XCTAssertEqual(context.traceID, "", "no TraceInterceptor ran")
        context.attributes[TraceIDKey.self] = "from-attribute"
        XCTAssertEqual(context.traceID, "from-attribute", "without a record, the attribute")
        let record = CallRecord(traceID: "from-record")
        context.attributes[CallRecordKey.self] = record
        let inner = context  // what an inner interceptor or the handler gets
        record.record(principal: Principal(name: "carol", role: .reader, nodes: .all))
        inner.callRecord?.record(sessionID: "s", nodeID: "n")
        XCTAssertEqual(context.traceID, "from-record")
        XCTAssertEqual(inner.principal?.name, "carol")
        XCTAssertEqual(context.callRecord?.sessionID, "s", "one record by reference: the outer context sees the handler's")
    }
}
