/// gRPC metadata: ordered, case-insensitive keys (stored lowercase), repeated keys allowed.
///
/// Keys ending in `-bin` carry binary values, base64-encoded on the wire; other values are
/// printable ASCII strings. Reserved keys (`:`-pseudo headers, `grpc-*`, `content-type`, `te`,
/// see `isReserved`) never appear in the metadata handed to handlers, and are dropped from the
/// metadata handlers send.
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
        entries.append(Entry(key: Self.lowercased(key), value: .string(value)))
    }

    public mutating func addBinary(_ value: [UInt8], forKey key: String) {
        let key = Self.lowercased(key)
        precondition(key.hasSuffix("-bin"), "binary metadata keys end in -bin")
        entries.append(Entry(key: key, value: .binary(value)))
    }

    /// `key` in lower case; a key already in lower case (the usual case) is returned as it is,
    /// without `lowercased()`'s new String (an allocation for keys longer than 15 bytes).
    package static func lowercased(_ key: String) -> String {
        let bytes = key.utf8.span  // by offset: iterating the UTF8View cost ~35 instructions a byte
        // Upper-case ASCII, or any non-ASCII byte (which `lowercased()` may change as well, as
        // the lookups do: the Kelvin sign K becomes k), takes the full path.
        for i in bytes.indices where bytes[i] >= 0x80 || (bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z")) {
            return key.lowercased()
        }
        return key
    }

    /// Received header names are lowercase already (HTTP/2 requires it, nghttp2 checks):
    /// these skip `lowercased()`, a String allocation per key longer than 15 bytes.
    package mutating func addString(_ value: String, lowercasedKey key: String) {
        entries.append(Entry(key: key, value: .string(value)))
    }

    package mutating func addBinary(_ value: [UInt8], lowercasedKey key: String) {
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
