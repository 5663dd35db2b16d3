import XCTest

@testable import GRPCH2Core
import ProtobufCBridge
import StrictJSON

final class ConnectErrorTests: XCTestCase {
    func testEveryCodeHasConnectsNameAndHTTPStatus() {
        let expected: [(StatusCode, String, Int)] = [
            (.cancelled, "canceled", 499), (.unknown, "unknown", 500), (.invalidArgument, "invalid_argument", 400),
            (.deadlineExceeded, "deadline_exceeded", 504), (.notFound, "not_found", 404), (.alreadyExists, "already_exists", 409),
            (.permissionDenied, "permission_denied", 403), (.resourceExhausted, "resource_exhausted", 429),
            (.failedPrecondition, "failed_precondition", 400), (.aborted, "aborted", 409), (.outOfRange, "out_of_range", 400),
            (.unimplemented, "unimplemented", 501), (.internalError, "internal", 500), (.unavailable, "unavailable", 503),
            (.dataLoss, "data_loss", 500), (.unauthenticated, "unauthenticated", 401),
        ]
        for (code, name, status) in expected {
            XCTAssertEqual(ConnectError.name(of: code), name)
            XCTAssertEqual(ConnectError.httpStatus(of: code), status, name)
        }
        XCTAssertEqual(ConnectError.name(of: StatusCode(rawValue: 99)), "unknown")
    }

    func testErrorBodyCarriesTheStatusDetails() throws {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "SESSION_NOT_FOUND"
        let error = RPCError(code: .notFound, message: "gone", details: [info])
        let json = try JSONParser.parse(bytes: ConnectError.body(error))
        guard case .object(let members) = json else { return XCTFail("not an object") }
        XCTAssertEqual(members.first { $0.0 == "code" }?.1, .string("not_found"))
        XCTAssertEqual(members.first { $0.0 == "message" }?.1, .string("gone"))
        guard case .array(let details)? = members.first(where: { $0.0 == "details" })?.1,
              case .object(let detail)? = details.first,
              case .string(let value)? = detail.first(where: { $0.0 == "value" })?.1 else { return XCTFail("no details") }
        XCTAssertEqual(detail.first { $0.0 == "type" }?.1, .string("google.rpc.ErrorInfo"))
        XCTAssertEqual(try Google_Rpc_ErrorInfo(serializedBytes: XCTUnwrap(Base64.decode(value))).reason, "SESSION_NOT_FOUND")
    }

    func testEndOfStreamGroupsTrailingMetadataByKey() throws {
        var trailing = Metadata()
        trailing.addString("1", forKey: "x-a")
        trailing.addString("2", forKey: "x-a")
        let end = String(decoding: ConnectError.endStream(nil, trailing: Array(trailing)), as: UTF8.self)
        XCTAssertEqual(end, #"{"metadata":{"x-a":["1","2"]}}"#)
        XCTAssertEqual(String(decoding: ConnectError.endStream(nil, trailing: []), as: UTF8.self), "{}")
    }
}
