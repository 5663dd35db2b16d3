/// gRPC metadata: ordered, case-insensitive keys (stored lowercase), repeated keys allowed.
///
/// Keys ending in `-bin` carry binary values, base64-encoded on the wire; other values are
/// printable ASCII strings. Reserved keys (`:`-pseudo headers, `grpc-*`, `content-type`, `te`)
/// never appear in the metadata handed to handlers.
public struct Metadata: Hashable, Sendable, Sequence {
    public enum Value: Hashable, Sendable {
        case string(String)
        case binary([UInt8])
    }

    public struct Entry: Hashable, Sendable {
        public var key: String
        public var value: Value
    }

    private var entries: [Entry] = []

    public init() {}

    /// Metadata with string values, in order.
    public init(_ pairs: [(String, String)]) {
        for (k, v) in pairs { addString(v, forKey: k) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    public mutating func addString(_ value: String, forKey key: String) {
        entries.append(Entry(key: key.lowercased(), value: .string(value)))
    }

    public mutating func addBinary(_ value: [UInt8], forKey key: String) {
        precondition(key.lowercased().hasSuffix("-bin"), "binary metadata keys end in -bin")
        entries.append(Entry(key: key.lowercased(), value: .binary(value)))
    }

    /// Received header names are lowercase already (HTTP/2 requires it, nghttp2 checks):
    /// these skip `lowercased()`, a String allocation per key longer than 15 bytes.
    mutating func addString(_ value: String, lowercasedKey key: String) {
        entries.append(Entry(key: key, value: .string(value)))
    }

    mutating func addBinary(_ value: [UInt8], lowercasedKey key: String) {
        entries.append(Entry(key: key, value: .binary(value)))
    }

    public mutating func removeAll(forKey key: String) {
        let k = key.lowercased()
        entries.removeAll { $0.key == k }
    }

    /// Replaces every value of `key` with one string value.
    public mutating func replaceOrAddString(_ value: String, forKey key: String) {
        removeAll(forKey: key)
        addString(value, forKey: key)
    }

    /// The first string value for `key`, if any.
    public func firstString(forKey key: String) -> String? {
        let k = key.lowercased()
        for e in entries where e.key == k {
            if case .string(let s) = e.value { return s }
        }
        return nil
    }

    /// Every string value for `key`, in order.
    public func strings(forKey key: String) -> [String] {
        let k = key.lowercased()
        return entries.compactMap { e in
            guard e.key == k, case .string(let s) = e.value else { return nil }
            return s
        }
    }

    /// The first binary value for `key` (a `-bin` key), if any.
    public func firstBinary(forKey key: String) -> [UInt8]? {
        let k = key.lowercased()
        for e in entries where e.key == k {
            if case .binary(let b) = e.value { return b }
        }
        return nil
    }

    public mutating func append(contentsOf other: Metadata) {
        entries.append(contentsOf: other.entries)
    }
}

extension Metadata {
    /// Whether a header name is reserved by HTTP/2 or gRPC and so is never user metadata.
    static func isReserved(_ name: String) -> Bool {
        if name.hasPrefix(":") { return true }
        switch name {
        case "content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding",
            "grpc-accept-encoding", "grpc-status", "grpc-message", "grpc-status-details-bin",
            "content-length", "host", "connection":
            return true
        default:
            return false
        }
    }
}
