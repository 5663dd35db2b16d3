import Foundation
import GRPCH2Core
import KatoProto
import XCTest

@testable import KatoServer

/// The console's GET route, as the app registers it: each embedded file served byte for byte
/// as written in Console/Assets (so the generated, split literals join back exactly), with the
/// security headers; `/console` redirected; `status.json` listing only the sessions the caller
/// may use (its nodes, its own or unowned ones; an admin all).
final class ConsoleRouteTests: XCTestCase {
    static let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/KatoServer/Console/Assets")

    static func route(_ kato: InProcessKato) throws -> HTTPGetRoute {
        try XCTUnwrap(kato.app.server.router.getRoutes.first { $0.matches("/console/") })
    }

    static func get(_ route: HTTPGetRoute, _ path: String, headers: [(name: String, value: String)] = []) async -> HTTPGetResponse {
        await route.respond(HTTPGetRequest(path: path, query: "", headers: headers, peer: "test"))
    }

    static func header(_ response: HTTPGetResponse, _ name: String) -> String? {
        response.headers.first { $0.name == name }?.value
    }

    static func console() throws -> InProcessKato {
        try InProcessKato { $0.grpc.web.enabled = true }
    }

    func testEveryAssetIsServedExactlyAsWrittenWithItsTypeAndSecurityHeaders() async throws {
        let route = try Self.route(Self.console())
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.assets.path).sorted()
        XCTAssertEqual(files, ["console.css", "console.js", "index.html"])
        for file in files {
            let response = await Self.get(route, "/console/" + file)
            XCTAssertEqual(response.status, 200, file)
            let onDisk = try [UInt8](Data(contentsOf: Self.assets.appendingPathComponent(file)))
            XCTAssertTrue(response.body == onDisk, "\(file): the served bytes differ from Console/Assets/\(file)")
            XCTAssertEqual(Self.header(response, "x-content-type-options"), "nosniff")
            XCTAssertEqual(Self.header(response, "x-frame-options"), "DENY")
            XCTAssertTrue(Self.header(response, "content-security-policy")?.contains("script-src 'self'") ?? false)
        }
        let script = await Self.get(route, "/console/console.js")
        XCTAssertEqual(Self.header(script, "content-type"), "text/javascript; charset=utf-8")
        let index = await Self.get(route, "/console/")
        XCTAssertEqual(Self.header(index, "content-type"), "text/html; charset=utf-8", "the folder serves index.html")
    }

    func testTheBarePathRedirectsAndUnknownFilesAreNotFound() async throws {
        let route = try Self.route(Self.console())
        let redirect = await Self.get(route, "/console")
        XCTAssertEqual(redirect.status, 308)
        XCTAssertEqual(Self.header(redirect, "location"), "/console/")
        let missing = await Self.get(route, "/console/secret.txt")
        XCTAssertEqual(missing.status, 404)
    }

    func testStatusListsOnlyTheSessionsTheCallerMayUse() async throws {
        let kato = try await InProcessKato.withKeys { $0.grpc.web.enabled = true }
        _ = try await kato.createSession(node: "n1", metadata: InProcessKato.key("writer"))
        _ = try await kato.createSession(node: "n2", metadata: InProcessKato.key("other"))
        let route = try Self.route(kato)
        func sessions(_ principal: String) async throws -> [String] {
            let key = InProcessKato.keys.first { $0.principal == principal }!.key
            let response = await Self.get(route, "/console/status.json", headers: [("x-api-key", key)])
            XCTAssertEqual(response.status, 200)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            return (object["sessions"] as? [[String: Any]] ?? []).compactMap { $0["node_id"] as? String }.sorted()
        }
        let adminSees = try await sessions("admin")
        let writerSees = try await sessions("writer")
        let otherSees = try await sessions("other")
        let readerSees = try await sessions("reader")
        XCTAssertEqual(adminSees, ["n1", "n2"], "an admin sees every session")
        XCTAssertEqual(writerSees, ["n1"], "its own session, on its node")
        XCTAssertEqual(otherSees, ["n2"])
        XCTAssertEqual(readerSees, [], "n1's one session belongs to another principal")
        let refused = await Self.get(route, "/console/status.json")
        XCTAssertEqual(refused.status, 401, "no credentials")
    }

    func testCallCountersSumHandledAndFailedCallsFromTheMetricsPage() {
        let page = """
            # TYPE grpc_server_handled_total counter
            grpc_server_handled_total{grpc_method="A",grpc_code="OK"} 5
            grpc_server_handled_total{grpc_method="A",grpc_code="NOT_FOUND"} 2
            grpc_server_started_total{grpc_method="A"} 7
            grpc_server_handled_total{grpc_method="B",grpc_code="INTERNAL"} 1
            """
        let counters = CallCounters(prometheusText: Array(page.utf8))
        XCTAssertEqual(counters.handled, 8)
        XCTAssertEqual(counters.failed, 3)
    }
}
