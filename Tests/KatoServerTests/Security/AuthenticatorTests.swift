import Foundation
import GRPCH2
import XCTest

@testable import KatoServer

final class AuthenticatorTests: XCTestCase {
    /// The byte-level parse gives what `trimmingCharacters(in: .whitespaces)` gave.
    func testBearerTokenMatchesFoundationTrimming() {
        let headers = [
            "Bearer abc", "bearer abc", "BEARER abc", "Bearer   abc  ", "Bearer \tabc\t", "Bearer \u{00A0}abc\u{3000}",
            "Bearer a b", "Bearer \u{2003}\u{00A0}k\u{00E9}y\u{2009}", "Bearer x", "Bearer  ", "Bearer \u{00E9}",
        ]
        for header in headers {
            let expected = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            XCTAssertEqual(Authenticator.bearerToken(header).map(String.init), expected, header.debugDescription)
        }
        for header in ["Bearer", "Bearer ", "Basic abcdef", "Bearerabc", "Bearer\tabc", "B\u{00E9}arer abc"] {
            XCTAssertNil(Authenticator.bearerToken(header), header.debugDescription)
        }
    }

    func testJWTShape() {
        XCTAssertTrue(Authenticator.isJWTShaped("a.b.c"))
        XCTAssertTrue(Authenticator.isJWTShaped(".."))
        XCTAssertFalse(Authenticator.isJWTShaped("a.b"))
        XCTAssertFalse(Authenticator.isJWTShaped("a.b.c.d"))
    }

    func testKeyCacheComparesWholeKeysAndEmpties() {
        let cache = APIKeyCache()
        let alice = Principal(name: "alice", role: .writer, nodes: .all)
        XCTAssertNil(cache.principal(forKey: Substring("key-1").utf8))
        cache.store(Array("key-1".utf8), alice)
        XCTAssertEqual(cache.principal(forKey: Substring("key-1").utf8), alice)
        for other in ["key-2", "key-", "key-1x", "key-1key-1", "", "KEY-1"] {
            XCTAssertNil(cache.principal(forKey: Substring(other).utf8), other)
        }
        cache.removeAll()
        XCTAssertNil(cache.principal(forKey: Substring("key-1").utf8))
    }

    func testKeysReloadedAwayStopAuthenticating() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kato-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("keys.json")
        try #"[{"principal": "a", "key": "key-a", "roles": ["reader"], "nodes": ["*"]}]"#.write(to: file, atomically: true, encoding: .utf8)
        var configuration = Authenticator.Configuration()
        configuration.keyFile = file.path
        let authenticator = try await Authenticator.load(configuration)
        let bearer = Metadata([("authorization", "Bearer  key-a ")])
        let header = Metadata([("x-api-key", "key-a")])
        for _ in 0..<3 {  // the second and third come from the cache
            let a = try await authenticator.authenticate(bearer)
            XCTAssertEqual(a.name, "a")
            let b = try await authenticator.authenticate(header)
            XCTAssertEqual(b.name, "a")
        }
        try #"[{"principal": "b", "key": "key-b", "roles": ["reader"], "nodes": ["*"]}]"#.write(to: file, atomically: true, encoding: .utf8)
        try await authenticator.reload()
        do {
            _ = try await authenticator.authenticate(bearer)
            XCTFail("a reloaded-away key still authenticates")
        } catch {
            XCTAssertEqual(error.reason, "CREDENTIALS_INVALID")
        }
        let b = try await authenticator.authenticate(Metadata([("authorization", "Bearer key-b")]))
        XCTAssertEqual(b.name, "b")
    }

    func testObservationIDsHaveTheReferenceShape() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = ObserveService.observationID(prefix: "obs-")
            XCTAssertEqual(id.count, 36)
            XCTAssertTrue(id.hasPrefix("obs-"))
            XCTAssertTrue(id.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 1000)
    }
}
