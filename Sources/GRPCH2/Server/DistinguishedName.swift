import HexCoding
import SwiftASN1
import X509

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
    /// nil when `der` is not a certificate. swift-certificates parses the certificate; the
    /// attribute types and values are then written in this type's canonical form (so the
    /// `cert_subject` strings of existing key files keep matching).
    public static func subject(ofCertificate der: [UInt8]) -> [[Attribute]]? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        var rdns: [[Attribute]] = []
        for rdn in certificate.subject {
            var attributes: [Attribute] = []
            for attribute in rdn {
                let oid = attribute.type.description
                let type = shortNames[oid] ?? oid
                guard let value = Self.text(of: attribute.value) else { return nil }
                attributes.append(Attribute(uncheckedType: type, value: value))
            }
            rdns.append(attributes)
        }
        return rdns
    }

    /// An attribute value as text: directory strings decoded, anything else in RFC 4514's
    /// `#`-hex form of its DER encoding.
    static func text(of value: RelativeDistinguishedName.Attribute.Value) -> String? {
        if let string = String(value) { return string }  // UTF8String, PrintableString, IA5String
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(ASN1Any(value))) != nil else { return nil }
        let der = serializer.serializedBytes
        guard der.count >= 2 else { return nil }
        let lengthOctets = der[1] < 0x80 ? 0 : Int(der[1] & 0x7F)
        guard der.count >= 2 + lengthOctets else { return nil }
        return Self.string(tag: der[0], der[(2 + lengthOctets)...]) ?? "#" + Hex.encode(der)
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
}

extension DistinguishedName.Attribute {
    init(uncheckedType type: String, value: String) {
        self.type = type
        self.value = value
    }
}
