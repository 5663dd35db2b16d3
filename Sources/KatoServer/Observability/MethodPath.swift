import GRPCH2

/// The service and method parts of a gRPC path (`/kato.v2.ObserveService/Observe`), found on
/// the UTF-8 bytes: every interceptor needs them on every call, and `ServerContext`'s
/// `serviceName` / `methodName` split by `Character` (grapheme breaking, several thousand
/// instructions per call).
struct MethodPath {
    let service: Substring
    let method: Substring

    init(_ path: String) {
        let utf8 = path.utf8
        var start = utf8.startIndex
        if start != utf8.endIndex && utf8[start] == UInt8(ascii: "/") { start = utf8.index(after: start) }
        guard let slash = utf8[start...].firstIndex(of: UInt8(ascii: "/")) else {
            service = path[start...]
            method = path[start...]
            return
        }
        service = path[start..<slash]
        let rest = utf8.index(after: slash)
        // The method is the last component (`methodName`'s definition).
        let last = utf8[rest...].lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? rest
        method = path[last...]
    }
}

extension ServerContext {
    var methodPath: MethodPath { MethodPath(path) }
}
