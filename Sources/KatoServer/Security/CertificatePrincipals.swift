import Crypto
import HexCoding
import GRPCH2

/// Client certificates (mutual TLS) mapped to principals by the key file: by the SHA-256
/// fingerprint of the certificate (`cert_sha256`, pins one certificate) or by its subject
/// (`cert_subject`, any certificate the client CA issued with that subject). A fingerprint
/// match wins over a subject match. Certificates are public, so lookups need no constant time.
public struct CertificatePrincipals: Sendable {
    private var byFingerprint: [[UInt8]: Principal] = [:]
    /// Canonical RFC 4514 subject as written (most specific first) → principal.
    private var bySubject: [String: Principal] = [:]
    /// The same subjects in the reverse order (OpenSSL's default one-line form).
    private var byReversedSubject: [String: Principal] = [:]

    public init() {}

    public var count: Int { byFingerprint.count + bySubject.count }
    public var isEmpty: Bool { count == 0 }

    /// Adds a certificate by its SHA-256 fingerprint: 64 hex digits, colons allowed
    /// (`openssl x509 -noout -fingerprint -sha256` prints `AB:CD:…`).
    public mutating func add(sha256Fingerprint text: String, principal: Principal) throws(KeyFileError) {
        let hex = String(text.filter { $0 != ":" })
        guard let digest = APIKeyStore.bytes(hex: hex), digest.count == 32 else {
            throw .invalid("cert_sha256 of '\(principal.name)' must be 64 hex digits (colons allowed)")
        }
        guard byFingerprint[digest] == nil else {
            throw .invalid("cert_sha256 of '\(principal.name)' is listed twice")
        }
        byFingerprint[digest] = principal
    }

    /// Adds a certificate subject, an RFC 4514 string such as `CN=alice,O=Example`.
    public mutating func add(subject text: String, principal: Principal) throws(KeyFileError) {
        let rdns: [[DistinguishedName.Attribute]]
        do {
            rdns = try Self.parse(subject: text)
        } catch {
            throw .invalid("cert_subject of '\(principal.name)': \(error.message)")
        }
        let forward = DistinguishedName.format(rdns)
        guard bySubject[forward] == nil else {
            throw .invalid("cert_subject '\(forward)' is listed twice")
        }
        bySubject[forward] = principal
        byReversedSubject[DistinguishedName.format(rdns.reversed())] = principal
    }

    /// The principal `certificate` maps to, or nil.
    public func principal(for certificate: PeerCertificate) -> Principal? {
        if !byFingerprint.isEmpty, let principal = byFingerprint[Array(SHA256.hash(data: certificate.derBytes))] {
            return principal
        }
        guard !certificate.subject.isEmpty else { return nil }
        return bySubject[certificate.subject] ?? byReversedSubject[certificate.subject]
    }

    /// `certificate`'s SHA-256 fingerprint as `cert_sha256` takes it (64 lower-case hex digits).
    static func fingerprint(of certificate: PeerCertificate) -> String {
        Hex.encode(SHA256.hash(data: certificate.derBytes))
    }

    struct ParseError: Error {
        var message: String
    }

    /// RFC 4514: RDNs separated by `,` (or `;`), multi-valued ones by `+`, `type=value` with
    /// `\`-escapes (`\,` or `\2C`) or RFC 2253's `"quoted, values"`; spaces around separators
    /// and `=` are ignored, so OpenSSL's `CN = alice, O = "Example, Inc."` reads too. Types: short names, long names or dotted OIDs.
    static func parse(subject text: String) throws(ParseError) -> [[DistinguishedName.Attribute]] {
        var rdns: [[DistinguishedName.Attribute]] = []
        var rdn: [DistinguishedName.Attribute] = []
        var type = "", value: [UInt8] = [], trailingSpaces = 0
        var inValue = false
        let bytes = Array(text.utf8)
        func finishAttribute() throws(ParseError) {
            let name = type.trimmingSpaces
            guard inValue, !name.isEmpty else { throw ParseError(message: "expected 'type=value' in '\(text)'") }
            value.removeLast(trailingSpaces)
            guard let string = String(validating: value, as: UTF8.self) else { throw ParseError(message: "invalid UTF-8") }
            guard let attribute = DistinguishedName.Attribute(type: name, value: string) else {
                throw ParseError(message: "unknown attribute type '\(name)' (use CN, O, OU, C, ST, L, DC, UID, EMAILADDRESS, … or a dotted OID)")
            }
            rdn.append(attribute)
            type = ""
            value = []
            trailingSpaces = 0
            inValue = false
        }
        /// `\X` or `\XX` (a hex byte) at `i`: appends the byte, returns the index after it.
        func unescape(at i: Int) throws(ParseError) -> Int {
            guard i + 1 < bytes.count else { throw ParseError(message: "dangling '\\' in '\(text)'") }
            if i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                value.append(hi << 4 | lo)
                return i + 3
            }
            value.append(bytes[i + 1])
            return i + 2
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if !inValue {
                if c == UInt8(ascii: "=") {
                    inValue = true
                } else if c == UInt8(ascii: ",") || c == UInt8(ascii: "+") || c == UInt8(ascii: ";") {
                    throw ParseError(message: "expected 'type=value' in '\(text)'")
                } else {
                    type.unicodeScalars.append(Unicode.Scalar(c))
                }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\\"):
                i = try unescape(at: i)
                trailingSpaces = 0
                continue
            case UInt8(ascii: ","), UInt8(ascii: ";"):
                try finishAttribute()
                rdns.append(rdn)
                rdn = []
            case UInt8(ascii: "+"):
                try finishAttribute()
            case UInt8(ascii: " ") where value.isEmpty:
                break  // space after '='
            case UInt8(ascii: "\"") where value.isEmpty:
                // RFC 2253's quoted form, which OpenSSL's one-line output uses: `CN = "a, b"`.
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        i = try unescape(at: i)
                    } else {
                        value.append(bytes[i])
                        i += 1
                    }
                }
                guard i < bytes.count else { throw ParseError(message: "unterminated quote in '\(text)'") }
                i += 1
                while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
                guard i == bytes.count || [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "+")].contains(bytes[i]) else {
                    throw ParseError(message: "text after a quoted value in '\(text)'")
                }
                trailingSpaces = 0
                continue
            case UInt8(ascii: " "):
                value.append(c)
                trailingSpaces += 1
            default:
                value.append(c)
                trailingSpaces = 0
            }
            i += 1
        }
        try finishAttribute()
        rdns.append(rdn)
        return rdns
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        Hex.value(ofDigit: c)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
