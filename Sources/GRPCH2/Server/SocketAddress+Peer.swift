import NIOCore

extension SocketAddress {
    /// The peer as gRPC names it in `ServerContext.peer` (`ipv4:127.0.0.1:5000`).
    var grpcPeerName: String {
        switch self {
        case .v4: "ipv4:\(ipAddress ?? "?"):\(port ?? 0)"
        case .v6: "ipv6:[\(ipAddress ?? "?")]:\(port ?? 0)"
        case .unixDomainSocket: "unix:\(pathname ?? "")"
        }
    }
}
