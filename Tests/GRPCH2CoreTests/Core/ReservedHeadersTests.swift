import XCTest

@testable import GRPCH2Core

/// The reserved-header rule (`Core/ReservedHeaders.swift`): one test holds its two forms,
/// names as Strings (`Metadata.isReserved`) and as received bytes (`headerToken`), together.
final class ReservedHeadersTests: XCTestCase {
    func testHeaderTokensAndIsReservedNameExactlyTheReservedHeaders() {
        let read: [String: HeaderToken] = [
            ":path": .path, ":method": .method, "content-type": .contentType, "grpc-encoding": .grpcEncoding,
            "grpc-accept-encoding": .grpcAcceptEncoding, "grpc-timeout": .grpcTimeout,
        ]
        for (name, token) in read { XCTAssertEqual(headerToken(name), token, name) }
        for name in [":scheme", ":authority", ":status", "te", "user-agent", "grpc-status", "grpc-message",
                     "grpc-status-details-bin", "content-length", "host", "connection"] {
            XCTAssertEqual(headerToken(name), .reserved, name)
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
        // Custom `grpc-*` names are reserved too (gRPC PROTOCOL-HTTP2.md), recognised from bytes.
        for name in ["grpc-statuses", "grpc-custom", "grpc-x", "grpc-", "grpc-trace-bi", "grpc-previous-rpc-attempt",
                     "grpc-internal-encoding-request"] {
            XCTAssertEqual(headerToken(name), .reserved, name)
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
        // ... except those gRPC defines for applications, and lookalikes without the prefix.
        for name in ["x-user", "authorization", "tee", "hosts", "content-typo", "trace-bin", "grpc",
                     "grpc-trace-bin", "grpc-tags-bin", "grpc-message-type", "grpc-previous-rpc-attempts",
                     "grpc-retry-pushback-ms", "xgrpc-status", ""] {
            XCTAssertEqual(headerToken(name), .other, name)
            XCTAssertEqual(Metadata.isReserved(name), false, name)
        }
        // Connection-specific headers must never be sent (RFC 9113 §8.2.2).
        for name in ["keep-alive", "proxy-connection", "transfer-encoding", "upgrade"] {
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
    }
}
