import Crypto

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
        sha256(text).map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }

    /// Compares every byte whatever differs first: the time depends on the length only.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    static func bytes(hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
