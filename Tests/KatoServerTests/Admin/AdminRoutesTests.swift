import Foundation
import XCTest

@testable import KatoServer

final class AdminRoutesTests: XCTestCase {
    func routes(started: Bool = true, shuttingDown: Bool = false, level: Int = 0, name: String = "NORMAL") -> AdminRoutes {
        AdminRoutes(
            metrics: { Array("kato_sessions_active 0\n".utf8) },
            health: {
                .init(started: started, shuttingDown: shuttingDown,
                      degradation: DegradationStatus(level: level, name: name, checks: ["store": "ok"]), sessionsActive: 3)
            })
    }

    func json(_ r: AdminRoutes.Response) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
    }

    func testReadyReportsLevelAndChecks() throws {
        let r = routes().respond(method: "GET", path: "/health/ready")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.contentType, "application/json")
        let body = try json(r)
        XCTAssertEqual(body["status"] as? String, "ready")
        XCTAssertEqual(body["degradation_level"] as? String, "NORMAL")
        XCTAssertEqual(body["sessions_active"] as? Int, 3)
        XCTAssertEqual((body["checks"] as? [String: String])?["store"], "ok")
    }

    func testNotReadyIs503InMaintenanceWhileStartingAndWhileShuttingDown() throws {
        for r in [routes(level: 3, name: "MAINTENANCE"), routes(started: false), routes(shuttingDown: true)] {
            let response = r.respond(method: "GET", path: "/health/ready")
            XCTAssertEqual(response.status, 503)
            XCTAssertEqual(try json(response)["status"] as? String, "not_ready")
        }
        XCTAssertEqual(routes(level: 2, name: "ESSENTIAL").respond(method: "GET", path: "/health/ready").status, 200)
        XCTAssertEqual(routes(started: false).respond(method: "GET", path: "/health/startup").status, 503)
        XCTAssertEqual(routes(level: 3).respond(method: "GET", path: "/health/live").status, 200)
    }

    func testMetricsAndUnknownPaths() {
        let r = routes().respond(method: "GET", path: "/metrics?x=1")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.contentType.hasPrefix("text/plain; version=0.0.4"))
        XCTAssertEqual(routes().respond(method: "GET", path: "/nope").status, 404)
        XCTAssertEqual(routes().respond(method: "POST", path: "/metrics").status, 405)
    }
}
