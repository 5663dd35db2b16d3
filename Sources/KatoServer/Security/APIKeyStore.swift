import Crypto
import HexCoding

/// API keys, kept only as SHA-256 digests. A presented key is hashed and compared with every
/// stored digest in constant time (no early exit, no lookup keyed by the secret).
public struct APIKeyStore: Sendable {
    struct Entry: Sendable {
        var digest: [UInt8]
        var principal: Principal
    }

    private(set) var entries: [Entry] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Adds a key by the hex SHA-256 digest of its text.
    public mutating func add(sha256Hex: String, principal: Principal) throws(KeyFileError) {
        guard let digest = Self.bytes(hex: sha256Hex), digest.count == 32 else {
            throw .invalid("key_sha256 of '\(principal.name)' must be 64 hex digits")
        }
        entries.append(Entry(digest: digest, principal: principal))
    }

    /// Adds a key given in clear; only its digest is kept.
    public mutating func add(key: String, principal: Principal) {
        entries.append(Entry(digest: Self.sha256(key), principal: principal))
    }

    /// The principal of `key`, or nil. Takes the same time whichever entry matches.
    public func principal(forKey key: String) -> Principal? {
        principal(forKeyBytes: Array(key.utf8))
    }

    /// The principal of the key whose UTF-8 bytes are `key`, or nil (constant time, as above).
    public func principal(forKeyBytes key: [UInt8]) -> Principal? {
        let digest = Array(SHA256.hash(data: key))
        var found: Principal?
        for entry in entries where Self.constantTimeEquals(entry.digest, digest) {
            found = entry.principal
        }
        return found
    }

    public static func sha256(_ text: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(text.utf8)))
    }

    /// Hex SHA-256 of `text`, the form a key file stores (`key_sha256`).
    public static func sha256Hex(_ text: String) -> String {
        Hex.encode(sha256(text))
    }

    /// Compares every byte whatever differs first: the time depends on the length only.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    static func bytes(hex: String) -> [UInt8]? {
        Hex.decode(hex)
    }
}
