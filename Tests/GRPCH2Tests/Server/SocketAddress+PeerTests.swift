import NIOCore
import XCTest

@testable import GRPCH2

/// The peer as gRPC names it in `ServerContext.peer` (and as access logs and grpcio show it).
final class SocketAddressPeerTests: XCTestCase {
    func testIPv4AndIPv6PeersCarryTheirFamilyAddressAndPort() throws {
        XCTAssertEqual(try SocketAddress(ipAddress: "127.0.0.1", port: 5000).grpcPeerName, "ipv4:127.0.0.1:5000")
        XCTAssertEqual(try SocketAddress(ipAddress: "::1", port: 443).grpcPeerName, "ipv6:[::1]:443")
    }

    func testAUnixSocketPeerIsItsPath() throws {
        XCTAssertEqual(try SocketAddress(unixDomainSocketPath: "/tmp/kato.sock").grpcPeerName, "unix:/tmp/kato.sock")
    }
}
