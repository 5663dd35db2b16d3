@testable import GRPCH2

/// The hand-written DER subject parser GRPCH2 used before swift-certificates, kept verbatim
/// (test-only) as the reference the compatibility test compares the new parser against.
enum LegacySubjectParser {
    static func subject(ofCertificate der: [UInt8]) -> [[DistinguishedName.Attribute]]? {
        var reader = LegacyDERReader(der[...])
        guard let certificate = reader.read(tag: 0x30) else { return nil }
        var cert = LegacyDERReader(certificate)
        guard let tbs = cert.read(tag: 0x30) else { return nil }
        var fields = LegacyDERReader(tbs)
        if fields.peekTag == 0xA0 { _ = fields.read(tag: 0xA0) }  // version
        guard fields.read(tag: 0x02) != nil,  // serialNumber
            fields.read(tag: 0x30) != nil,  // signature
            fields.read(tag: 0x30) != nil,  // issuer
            fields.read(tag: 0x30) != nil,  // validity
            let subject = fields.read(tag: 0x30)
        else { return nil }
        var rdns: [[DistinguishedName.Attribute]] = []
        var sets = LegacyDERReader(subject)
        while !sets.isAtEnd {
            guard let set = sets.read(tag: 0x31) else { return nil }
            var rdn: [DistinguishedName.Attribute] = []
            var pairs = LegacyDERReader(set)
            while !pairs.isAtEnd {
                guard let pair = pairs.read(tag: 0x30) else { return nil }
                var p = LegacyDERReader(pair)
                guard let oid = p.read(tag: 0x06).flatMap(Self.oidString), let (tag, value) = p.readAny() else { return nil }
                let type = DistinguishedName.shortNames[oid] ?? oid
                rdn.append(DistinguishedName.Attribute(uncheckedType: type, value: Self.string(tag: tag, value) ?? Self.hexForm(tag: tag, value)))
            }
            rdns.append(rdn)
        }
        return rdns
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

/// Reads DER tag-length-value items (definite lengths only).
struct LegacyDERReader {
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
