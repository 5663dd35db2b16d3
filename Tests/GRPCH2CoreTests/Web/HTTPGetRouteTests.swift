import XCTest

@testable import GRPCH2Core

/// A GET route claims the paths under its prefix (and the prefix without its last slash);
/// the router hands a path to the first route that claims it.
final class HTTPGetRouteTests: XCTestCase {
    static func route(_ prefix: String, _ tag: String) -> HTTPGetRoute {
        HTTPGetRoute(pathPrefix: prefix) { _ in HTTPGetResponse(status: 200, headers: [("x-route", tag)], body: []) }
    }

    func testARouteClaimsItsPrefixAndThePrefixWithoutItsSlashOnly() {
        let route = Self.route("/console/", "c")
        XCTAssertTrue(route.matches("/console/"))
        XCTAssertTrue(route.matches("/console/app.js"))
        XCTAssertTrue(route.matches("/console"))
        XCTAssertFalse(route.matches("/consoles"))
        XCTAssertFalse(route.matches("/Console/"))
        XCTAssertFalse(route.matches("/"))
        let noSlash = Self.route("/status", "s")
        XCTAssertTrue(noSlash.matches("/status.json"), "a prefix without a slash is a plain prefix")
        XCTAssertFalse(noSlash.matches("/stat"))
    }

    func testTheRouterAnswersWithTheFirstRouteThatClaimsThePath() async throws {
        var router = ServiceRouter()
        router.getRoutes = [Self.route("/a/b/", "first"), Self.route("/a/", "second")]
        let request = HTTPGetRequest(path: "/a/b/c", query: "", headers: [], peer: "test")
        let first = try XCTUnwrap(router.getRoute(for: "/a/b/c"))
        let answer = await first.respond(request)
        XCTAssertEqual(answer.headers.first?.value, "first")
        let second = try XCTUnwrap(router.getRoute(for: "/a/x"))
        let other = await second.respond(request)
        XCTAssertEqual(other.headers.first?.value, "second")
        XCTAssertNil(router.getRoute(for: "/b"))
    }

    func testARequestsHeaderIsFoundByItsLowerCaseNameFirstValueFirst() {
        let request = HTTPGetRequest(
            path: "/", query: "x=1", headers: [("accept", "text/html"), ("accept", "*/*"), ("if-none-match", "\"e\"")], peer: "p")
        XCTAssertEqual(request.header("accept"), "text/html")
        XCTAssertEqual(request.header("if-none-match"), "\"e\"")
        XCTAssertNil(request.header("cookie"))
    }
}
