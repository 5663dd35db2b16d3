import GRPCH2

/// The service and method parts of a gRPC path (`/kato.v2.ObserveService/Observe`), found on
/// the UTF-8 bytes: every interceptor needs them on every call, and `ServerContext`'s
/// `serviceName` / `methodName` split by `Character` (grapheme breaking, several thousand
/// instructions per call).
struct MethodPath {
    let service: Substring
    let method: Substring

    init(_ path: String) {
        // One pass over the bytes: the first `/` after the leading one ends the service, the
        // last `/` starts the method.
        let utf8 = path.utf8
        var serviceEnd = -1
        var lastSlash = -1
        let bytes = utf8.span  // bounds-checked view of the contiguous UTF-8 (no per-byte index arithmetic)
        for position in bytes.indices where position > 0 && bytes[position] == UInt8(ascii: "/") {
            if serviceEnd < 0 { serviceEnd = position }
            lastSlash = position
        }
        let leading = utf8.first == UInt8(ascii: "/") ? 1 : 0
        let start = utf8.index(utf8.startIndex, offsetBy: leading)
        guard serviceEnd >= 0 else {
            service = path[start...]
            method = path[start...]
            return
        }
        service = path[start..<utf8.index(utf8.startIndex, offsetBy: serviceEnd)]
        method = path[utf8.index(utf8.startIndex, offsetBy: lastSlash + 1)...]
    }
}

extension ServerContext {
    var methodPath: MethodPath { MethodPath(path) }
}
