import GRPCH2Core
import NIOCore
import NIOSSL

/// TLS 1.2/1.3 with ALPN `h2` for the server, from PEM files (optional client CA for mTLS).
struct TLSContext: Sendable {
    let sslContext: NIOSSLContext

    init(configuration: ServerConfiguration.TLSConfiguration) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: configuration.privateKeyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["h2"]
        if let ca = configuration.clientCAPath {
            tls.trustRoots = .file(ca)
            tls.certificateVerification = .noHostnameVerification
        }
        sslContext = try NIOSSLContext(configuration: tls)
    }

    func addHandlers(to channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
    }
}

extension TLSContext {
    /// The peer's verified certificate, once the handshake has completed (NIOSSL then fires
    /// `TLSUserEvent.handshakeCompleted`, the first user event of a TLS connection; a failed
    /// verification closes the connection instead). Nil before that or when the client sent none.
    static func peerCertificate(pipeline: ChannelPipeline) -> PeerCertificate? {
        guard let certificate = try? pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes()
        else { return nil }
        return PeerCertificate(derBytes: der)
    }
}

extension PeerCertificate {
    /// The certificate with its subject read by `DistinguishedName` (RFC 4514, most specific first).
    public convenience init(derBytes: [UInt8]) {
        self.init(
            derBytes: derBytes,
            subject: DistinguishedName.subject(ofCertificate: derBytes).map { DistinguishedName.format($0.reversed()) } ?? "")
    }
}

/// X.509 distinguished names (RFC 5280) read from DER and written as RFC 4514 strings in one
/// canonical form: attribute types by their short name (`CN`, `O`, `OU`, `C`, `ST`, `L`,
/// `STREET`, `DC`, `UID`, `EMAILADDRESS`, `SERIALNUMBER`, …) or dotted OID, values escaped
/// per RFC 4514 §2.4, the attributes of a multi-valued RDN sorted and joined by `+`.
public enum DistinguishedName {
    public struct Attribute: Sendable, Hashable {
        public var type: String
        public var value: String

        /// `type` is canonicalised (`commonName`, `cn`, `2.5.4.3` → `CN`); nil when unknown.
        public init?(type: String, value: String) {
            guard let canonical = DistinguishedName.canonicalType(type) else { return nil }
            self.type = canonical
            self.value = value
        }
    }

    /// The RDNs of the certificate's subject in certificate order (least specific first);
    /// nil when `der` is not a certificate.
    public static func subject(ofCertificate der: [UInt8]) -> [[Attribute]]? {
        var reader = DERReader(der[...])
        guard let certificate = reader.read(tag: 0x30) else { return nil }
        var cert = DERReader(certificate)
        guard let tbs = cert.read(tag: 0x30) else { return nil }
        var fields = DERReader(tbs)
        if fields.peekTag == 0xA0 { _ = fields.read(tag: 0xA0) }  // version
        guard fields.read(tag: 0x02) != nil,  // serialNumber
            fields.read(tag: 0x30) != nil,  // signature
            fields.read(tag: 0x30) != nil,  // issuer
            fields.read(tag: 0x30) != nil,  // validity
            let subject = fields.read(tag: 0x30)
        else { return nil }
        var rdns: [[Attribute]] = []
        var sets = DERReader(subject)
        while !sets.isAtEnd {
            guard let set = sets.read(tag: 0x31) else { return nil }
            var rdn: [Attribute] = []
            var pairs = DERReader(set)
            while !pairs.isAtEnd {
                guard let pair = pairs.read(tag: 0x30) else { return nil }
                var p = DERReader(pair)
                guard let oid = p.read(tag: 0x06).flatMap(Self.oidString), let (tag, value) = p.readAny() else { return nil }
                let type = shortNames[oid] ?? oid
                rdn.append(Attribute(uncheckedType: type, value: Self.string(tag: tag, value) ?? Self.hexForm(tag: tag, value)))
            }
            rdns.append(rdn)
        }
        return rdns
    }

    /// The RFC 4514 string of `rdns`, written in the order given (pass a certificate's RDNs
    /// reversed for the conventional most-specific-first order).
    public static func format(_ rdns: some Sequence<[Attribute]>) -> String {
        rdns.map { rdn in
            rdn.map { "\($0.type)=\(escape($0.value))" }.sorted().joined(separator: "+")
        }.joined(separator: ",")
    }

    /// `CN`, `commonName`, `2.5.4.3`, `OID.2.5.4.3` → `CN`; other dotted OIDs as they are; nil
    /// for an unknown name.
    public static func canonicalType(_ name: String) -> String? {
        var name = Substring(name)
        if name.uppercased().hasPrefix("OID.") { name = name.dropFirst(4) }
        if let first = name.first, first.isNumber {
            guard name.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
            return shortNames[String(name)] ?? String(name)
        }
        return typeAliases[name.lowercased()]
    }

    static let shortNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L",
        "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "TITLE",
        "2.5.4.42": "GN", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
        "1.2.840.113549.1.9.1": "EMAILADDRESS",
    ]

    static let typeAliases: [String: String] = {
        var aliases: [String: String] = [
            "commonname": "CN", "surname": "SN", "countryname": "C", "localityname": "L",
            "stateorprovincename": "ST", "streetaddress": "STREET", "organizationname": "O",
            "organizationalunitname": "OU", "givenname": "GN", "domaincomponent": "DC",
            "userid": "UID", "e": "EMAILADDRESS",
        ]
        for short in shortNames.values { aliases[short.lowercased()] = short }
        return aliases
    }()

    /// RFC 4514 §2.4: `"+,;<>\` always, a leading `#` or space and a trailing space, NUL as `\00`.
    static func escape(_ value: String) -> String {
        var out = ""
        let chars = Array(value)
        for (i, c) in chars.enumerated() {
            switch c {
            case "\"", "+", ",", ";", "<", ">", "\\": out += "\\\(c)"
            case "#" where i == 0: out += "\\#"
            case " " where i == 0 || i == chars.count - 1: out += "\\ "
            case "\0": out += "\\00"
            default: out.append(c)
            }
        }
        return out
    }

    static func oidString(_ bytes: ArraySlice<UInt8>) -> String? {
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for b in bytes {
            guard value >> 56 == 0 else { return nil }
            value = value << 7 | UInt64(b & 0x7F)
            if b & 0x80 == 0 {
                if arcs.isEmpty {
                    let first: UInt64 = value < 40 ? 0 : value < 80 ? 1 : 2
                    arcs += [first, value - 40 * first]
                } else {
                    arcs.append(value)
                }
                value = 0
            }
        }
        guard !arcs.isEmpty, bytes.last.map({ $0 & 0x80 == 0 }) == true else { return nil }
        return arcs.map(String.init).joined(separator: ".")
    }

    /// The text of a directory string; nil for other types.
    static func string(tag: UInt8, _ bytes: ArraySlice<UInt8>) -> String? {
        switch tag {
        case 0x0C, 0x12, 0x13, 0x16, 0x1A:  // UTF8, Numeric, Printable, IA5, Visible
            return String(validating: bytes, as: UTF8.self)
        case 0x14:  // Teletex: read as Latin-1, as OpenSSL does
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case 0x1E:  // BMPString: UTF-16BE
            guard bytes.count % 2 == 0 else { return nil }
            let units = stride(from: bytes.startIndex, to: bytes.endIndex, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
            return String(validating: units, as: UTF16.self)
        case 0x1C:  // UniversalString: UTF-32BE
            guard bytes.count % 4 == 0 else { return nil }
            var scalars = String.UnicodeScalarView()
            for i in stride(from: bytes.startIndex, to: bytes.endIndex, by: 4) {
                let v = bytes[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                guard let s = Unicode.Scalar(v) else { return nil }
                scalars.append(s)
            }
            return String(scalars)
        default:
            return nil
        }
    }

    /// RFC 4514 §2.4's form for values that are not strings: `#` and the hex of the BER encoding.
    static func hexForm(tag: UInt8, _ bytes: ArraySlice<UInt8>) -> String {
        var encoded: [UInt8] = [tag]
        if bytes.count < 0x80 {
            encoded.append(UInt8(bytes.count))
        } else {
            var length: [UInt8] = []
            var n = bytes.count
            while n > 0 {
                length.insert(UInt8(n & 0xFF), at: 0)
                n >>= 8
            }
            encoded.append(0x80 | UInt8(length.count))
            encoded += length
        }
        encoded += bytes
        return "#" + encoded.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension DistinguishedName.Attribute {
    init(uncheckedType type: String, value: String) {
        self.type = type
        self.value = value
    }
}

/// Reads DER tag-length-value items (definite lengths only).
struct DERReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }
    var peekTag: UInt8? { bytes.first }

    /// The next item's contents when its tag is `tag`.
    mutating func read(tag: UInt8) -> ArraySlice<UInt8>? {
        guard peekTag == tag else { return nil }
        return readAny()?.contents
    }

    mutating func readAny() -> (tag: UInt8, contents: ArraySlice<UInt8>)? {
        guard bytes.count >= 2 else { return nil }
        let tag = bytes[bytes.startIndex]
        var i = bytes.startIndex + 1
        var length = Int(bytes[i])
        i += 1
        if length >= 0x80 {
            let n = length & 0x7F
            guard (1...4).contains(n), bytes.endIndex - i >= n else { return nil }
            length = bytes[i..<i + n].reduce(0) { $0 << 8 | Int($1) }
            i += n
        }
        guard bytes.endIndex - i >= length else { return nil }
        let contents = bytes[i..<i + length]
        bytes = bytes[(i + length)...]
        return (tag, contents)
    }
}
