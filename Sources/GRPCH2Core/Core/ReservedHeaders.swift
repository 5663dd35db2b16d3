#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// gRPC's reserved-header rule, in one place for both directions and both representations:
// `Metadata.isReserved` on names as Strings (metadata sent, metadata received by name), and
// `headerToken` on names as received bytes (before any String exists). The transport reads
// request headers through `headerToken`; handlers never see what either calls reserved.

extension Metadata {
    /// Whether a header name is reserved by HTTP/2 or gRPC and so is never user metadata, in
    /// either direction: dropped from the metadata handed to handlers, and dropped from the
    /// metadata (initial, trailing, error) a handler sends, so a handler can neither forge
    /// `grpc-status` nor emit a pseudo-header or a connection-specific header (which would make
    /// the response malformed, RFC 9113 §8.2.2).
    ///
    /// The gRPC HTTP/2 protocol (PROTOCOL-HTTP2.md, Custom-Metadata): "Header names starting
    /// with `grpc-` are reserved for future use." Every `grpc-*` name is reserved except the
    /// few gRPC defines for applications to read or set (`isApplicationVisibleGRPCHeader`).
    package static func isReserved(_ name: String) -> Bool {
        // Dispatched on the first byte: most names (`authorization`, `x-…`) then need no string
        // comparison at all (ten comparisons and two prefix checks per header were ~400
        // instructions, paid for every header received and every metadata entry sent).
        switch name.utf8.first {
        case UInt8(ascii: ":"):
            return true
        case UInt8(ascii: "g"):
            return name.hasPrefix("grpc-") && !isApplicationVisibleGRPCHeader(name)
        case UInt8(ascii: "c"):
            return name == "content-type" || name == "content-length" || name == "connection"
        case UInt8(ascii: "t"):
            return name == "te" || name == "transfer-encoding"
        case UInt8(ascii: "u"):
            return name == "user-agent" || name == "upgrade"
        case UInt8(ascii: "h"):
            return name == "host"
        case UInt8(ascii: "k"):
            return name == "keep-alive"
        case UInt8(ascii: "p"):
            return name == "proxy-connection"
        default:
            return false
        }
    }

    /// `grpc-*` headers gRPC defines for applications rather than for the transport: tracing
    /// and stats context (`grpc-trace-bin`, `grpc-tags-bin`), the message type, the retry
    /// attempt count a client sends, and the retry pushback a server sends in trailers.
    package static func isApplicationVisibleGRPCHeader(_ name: String) -> Bool {
        switch name {
        case "grpc-trace-bin", "grpc-tags-bin", "grpc-message-type", "grpc-previous-rpc-attempts",
            "grpc-retry-pushback-ms":
            return true
        default:
            return false
        }
    }
}

/// A received header name, recognised from its bytes before any String is made: the
/// server reads six request headers and drops the other reserved ones, so for a typical
/// call no header name becomes a String. Names arrive lowercase (nghttp2 rejects others).
package enum HeaderToken: Equatable {
    case path, method, contentType, grpcEncoding, grpcAcceptEncoding, grpcTimeout
    /// Reserved by HTTP/2 or gRPC and never metadata (see `Metadata.isReserved`).
    case reserved
    /// Anything else: custom metadata, or a response header on the client side.
    case other
}

/// Classifies a header name by length and bytes (no String, no hashing): the receive side
/// of `Metadata.isReserved`, written for speed. Whatever it calls `.reserved` that rule calls
/// reserved too; anything it leaves `.other` is checked there again (`RequestHeaders.add`).
/// `ReservedHeadersTests` holds the two to the same names.
package func headerToken(_ p: UnsafePointer<UInt8>?, _ n: Int) -> HeaderToken {
    guard let p, n > 0 else { return .other }
    func equals(_ s: StaticString) -> Bool { memcmp(p, s.utf8Start, n) == 0 }
    if p[0] == UInt8(ascii: ":") {
        if n == 5, equals(":path") { return .path }
        if n == 7, equals(":method") { return .method }
        return .reserved
    }
    switch n {
    case 2: if equals("te") { return .reserved }
    case 4: if equals("host") { return .reserved }
    case 10: if equals("user-agent") || equals("connection") { return .reserved }
    case 11: if equals("grpc-status") { return .reserved }
    case 12:
        if equals("content-type") { return .contentType }
        if equals("grpc-timeout") { return .grpcTimeout }
        if equals("grpc-message") { return .reserved }
    case 13: if equals("grpc-encoding") { return .grpcEncoding }
    case 14: if equals("content-length") { return .reserved }
    case 20: if equals("grpc-accept-encoding") { return .grpcAcceptEncoding }
    case 23: if equals("grpc-status-details-bin") { return .reserved }
    default: break
    }
    // Every other `grpc-*` name is reserved too (gRPC's PROTOCOL-HTTP2.md), bar the few meant
    // for applications (`Metadata.isApplicationVisibleGRPCHeader`): those stay `.other`.
    if n >= 5, memcmp(p, ("grpc-" as StaticString).utf8Start, 5) == 0 {
        switch n {
        case 13: if equals("grpc-tags-bin") { return .other }
        case 14: if equals("grpc-trace-bin") { return .other }
        case 17: if equals("grpc-message-type") { return .other }
        case 22: if equals("grpc-retry-pushback-ms") { return .other }
        case 26: if equals("grpc-previous-rpc-attempts") { return .other }
        default: break
        }
        return .reserved
    }
    return .other
}

/// `headerToken` of a String (tests).
package func headerToken(_ name: String) -> HeaderToken {
    var name = name
    return name.withUTF8 { headerToken($0.baseAddress, $0.count) }
}
