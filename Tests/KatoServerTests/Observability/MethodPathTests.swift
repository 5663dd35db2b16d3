import GRPCH2Core
import XCTest

@testable import KatoServer

/// The service and method parts of a gRPC path, found on its bytes, as every interceptor
/// names them in logs, metrics and policies.
final class MethodPathTests: XCTestCase {
    func parts(_ path: String) -> [String] {
        let p = MethodPath(path)
        return [String(p.service), String(p.method)]
    }

    func testAGRPCPathSplitsIntoServiceAndMethod() {
        XCTAssertEqual(parts("/kato.v2.ObserveService/Observe"), ["kato.v2.ObserveService", "Observe"])
        XCTAssertEqual(parts("kato.v2.ObserveService/Observe"), ["kato.v2.ObserveService", "Observe"], "no leading slash")
    }

    func testExtraSlashesEndTheServiceAtTheFirstAndStartTheMethodAfterTheLast() {
        XCTAssertEqual(parts("/a.B/c/D"), ["a.B", "D"])
        XCTAssertEqual(parts("/a.B/"), ["a.B", ""])
    }

    func testAPathWithoutASecondSlashIsBothServiceAndMethod() {
        XCTAssertEqual(parts("/health"), ["health", "health"])
        XCTAssertEqual(parts(""), ["", ""])
    }

    func testNonASCIINamesSplitOnBytesAndStayWhole() {
        XCTAssertEqual(parts("/dé.Sérvice/Mé"), ["dé.Sérvice", "Mé"])
    }

    func testItAgreesWithTheContextsCharacterSplitOnRealPaths() {
        for path in ["/kato.v2.SessionService/CreateSession", "/grpc.health.v1.Health/Check"] {
            let context = ServerContext(path: path, requestMetadata: Metadata(), deadline: nil, peer: "t")
            XCTAssertEqual(context.methodPath.service, context.serviceName, path)
            XCTAssertEqual(context.methodPath.method, context.methodName, path)
        }
    }
}
