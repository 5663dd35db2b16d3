import XCTest

@testable import KatoServer

/// Roles are ordered reader < writer < admin; a principal has its role and every lower one,
/// and uses the nodes listed for it (all of them for `*` or when it is an admin).
final class PrincipalTests: XCTestCase {
    func testRolesAreOrderedAndAPrincipalHasEveryRoleUpToItsOwn() {
        XCTAssertEqual(Role.allCases.sorted(), [.reader, .writer, .admin])
        let writer = Principal(name: "w", role: .writer, nodes: .all)
        XCTAssertTrue(writer.has(.reader))
        XCTAssertTrue(writer.has(.writer))
        XCTAssertFalse(writer.has(.admin))
    }

    func testSeveralRolesGiveTheHighestAndNoneGivesReader() {
        XCTAssertEqual(Principal(name: "a", roles: [.reader, .admin, .writer], nodes: .all).role, .admin)
        XCTAssertEqual(Principal(name: "b", roles: [], nodes: .all).role, .reader)
    }

    func testNodesListedOrStarOrAdmin() {
        XCTAssertEqual(Principal.Nodes(["a", "*"]), .all)
        let reader = Principal(name: "r", role: .reader, nodes: .init(["n1", "n2"]))
        XCTAssertTrue(reader.mayUse(node: "n1"))
        XCTAssertFalse(reader.mayUse(node: "n3"))
        XCTAssertFalse(Principal(name: "none", role: .writer, nodes: .init([])).mayUse(node: "n1"))
        XCTAssertTrue(Principal(name: "adm", role: .admin, nodes: .init([])).mayUse(node: "n3"), "admins reach every node")
    }

    func testTheAnonymousPrincipalIsAnAdminOfEveryNode() {
        XCTAssertEqual(Principal.anonymous.role, .admin)
        XCTAssertTrue(Principal.anonymous.mayUse(node: "any"))
        XCTAssertEqual(Principal.anonymous.description, "anonymous")
    }
}
