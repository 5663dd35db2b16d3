import XCTest

@testable import GRPCH2Core

final class RPCErrorTests: XCTestCase {
    struct DomainError: RPCErrorConvertible, Equatable {
        var rpcError: RPCError { RPCError(code: .notFound, message: "no such thing") }
    }

    struct Opaque: Error {}

    func testMappingAConvertibleErrorUsesItsStatusAndKeepsItAsTheCause() {
        let mapped = RPCError(mapping: DomainError())
        XCTAssertEqual(mapped.code, .notFound)
        XCTAssertEqual(mapped.message, "no such thing")
        XCTAssertEqual(mapped.cause as? DomainError, DomainError())
    }

    func testMappingAnUnknownErrorIsUnknownWithoutLeakingItsDescription() {
        let mapped = RPCError(mapping: Opaque())
        XCTAssertEqual(mapped.code, .unknown)
        XCTAssertEqual(mapped.message, "handler failed: Opaque")
        XCTAssertTrue(mapped.cause is Opaque)
    }

    func testMappingCancellationIsCancelled() {
        XCTAssertEqual(RPCError(mapping: CancellationError()).code, .cancelled)
    }

    func testMappingAnRPCErrorReturnsItUnchanged() {
        let error = RPCError(code: .invalidArgument, message: "bad", trailingMetadata: Metadata([("k", "v")]))
        let mapped = RPCError(mapping: error)
        XCTAssertEqual(mapped, error)
        XCTAssertNil(mapped.cause)
    }

    func testTheCauseTakesNoPartInEqualityOrHashing() {
        let a = RPCError(code: .internalError, message: "x", cause: Opaque())
        let b = RPCError(code: .internalError, message: "x")
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set([a, b]).count, 1)
        XCTAssertNotEqual(a, RPCError(code: .internalError, message: "y"))
    }
}
