import Foundation
import XCTest

@testable import KatoServer

final class APIKeyStoreTests: XCTestCase {
    func testKeysAreStoredAsSHA256AndFoundByTheirText() throws {
        var store = APIKeyStore()
        let alice = Principal(name: "alice", role: .writer, nodes: .only(["n1"]))
        store.add(key: "secret-a", principal: alice)
        try store.add(sha256Hex: APIKeyStore.sha256Hex("secret-b"), principal: .anonymous)
        XCTAssertEqual(store.principal(forKey: "secret-a"), alice)
        XCTAssertEqual(store.principal(forKey: "secret-b")?.name, "anonymous")
        XCTAssertNil(store.principal(forKey: "secret-c"))
        XCTAssertNil(store.principal(forKey: ""))
        XCTAssertFalse(store.entries.contains { $0.digest == Array("secret-a".utf8) })
    }

    func testSHA256HexMatchesTheKnownDigest() {
        XCTAssertEqual(APIKeyStore.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testConstantTimeEqualsComparesEveryByte() {
        XCTAssertTrue(APIKeyStore.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(APIKeyStore.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(APIKeyStore.constantTimeEquals([0, 2, 3], [1, 2, 3]))
        XCTAssertFalse(APIKeyStore.constantTimeEquals([1, 2], [1, 2, 3]))
    }

    func testKeyFileParsesBothFormsAndRolesAndNodes() throws {
        let json = """
            [{"principal": "a", "key": "k1", "roles": ["reader", "writer"], "nodes": ["n1", "n2"]},
             {"principal": "b", "key_sha256": "\(APIKeyStore.sha256Hex("k2"))", "roles": ["admin"], "nodes": ["*"]},
             {"principal": "c", "key": "k3"}]
            """
        let store = try KeyFile.parse(Data(json.utf8))
        XCTAssertEqual(store.principal(forKey: "k1"), Principal(name: "a", role: .writer, nodes: .only(["n1", "n2"])))
        XCTAssertEqual(store.principal(forKey: "k2"), Principal(name: "b", role: .admin, nodes: .all))
        XCTAssertEqual(store.principal(forKey: "k3"), Principal(name: "c", role: .reader, nodes: .only([])))
    }

    func testKeyFileErrorsNeverQuoteKeys() {
        for json in [#"[{"principal": "a", "key": "k1", "key_sha256": "00"}]"#, #"[{"principal": "a", "key_sha256": "zz"}]"#, "nope"] {
            XCTAssertThrowsError(try KeyFile.parse(Data(json.utf8))) { error in
                XCTAssertFalse("\(error)".contains("k1"))
            }
        }
    }

    func testRolesAreOrdered() {
        XCTAssertTrue(Principal(name: "x", role: .admin, nodes: .only([])).has(.writer))
        XCTAssertFalse(Principal(name: "x", role: .reader, nodes: .all).has(.writer))
        XCTAssertTrue(Principal(name: "x", role: .admin, nodes: .only([])).mayUse(node: "any"))
        XCTAssertFalse(Principal(name: "x", role: .writer, nodes: .only(["a"])).mayUse(node: "b"))
    }

    func testMethodPolicy() {
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.SessionService", method: "CreateSession"), .writer)
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.SessionService", method: "GetSession"), .reader)
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.ObserveService", method: "ClearAllMemory"), .admin)
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.ObserveService", method: "GetShortTermMemory"), .reader)
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.PredictService", method: "GetPredictions"), .reader)
        XCTAssertEqual(MethodPolicy.requiredRole(service: "kato.v2.AdminService", method: "Anything"), .admin)
    }
}
