import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// gRPC's rich error model: an error with details carries `google.rpc.Status` (code, message,
/// typed details packed in `Any` with the googleapis type URL), and reads it back.
final class StatusDetailsTests: XCTestCase {
    func testAnErrorWithDetailsCarriesTheirStatusWithItsCodeAndMessage() throws {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "QUOTA"
        info.domain = "kato.example"
        var field = Google_Rpc_BadRequest.FieldViolation()
        field.field = "node_id"
        field.description = "required"
        var badRequest = Google_Rpc_BadRequest()
        badRequest.fieldViolations = [field]
        let error = RPCError(code: .invalidArgument, message: "bad", details: [info, badRequest])

        let status = try XCTUnwrap(error.status)
        XCTAssertEqual(status.code, 3)
        XCTAssertEqual(status.message, "bad")
        XCTAssertEqual(status.details.map(\.typeURL), [
            "type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest",
        ])
        XCTAssertEqual(status.details[0].unpack(Google_Rpc_ErrorInfo.self), info)
        XCTAssertEqual(status.details[1].unpack(Google_Rpc_BadRequest.self)?.fieldViolations.first?.field, "node_id")
    }

    func testUnpackingAsAnotherTypeGivesNothing() {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "R"
        let any = Google_Protobuf_Any(packing: info)
        XCTAssertNil(any.unpack(Google_Rpc_BadRequest.self))
        XCTAssertEqual(any.unpack(Google_Rpc_ErrorInfo.self)?.reason, "R")
    }

    func testAnErrorWithoutDetailsOrWithUnreadableDetailsHasNoStatus() {
        XCTAssertNil(RPCError(code: .internalError, message: "plain").status)
        XCTAssertNil(RPCError(code: .internalError, message: "junk", statusDetails: [0xFF, 0xFF]).status)
    }
}
