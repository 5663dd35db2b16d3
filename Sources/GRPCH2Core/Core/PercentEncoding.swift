import HexCoding

/// `grpc-message` percent-encoding (gRPC HTTP/2 protocol spec): bytes outside 0x20...0x7E
/// and `%` itself are sent as `%XX` of their UTF-8 bytes.
package enum PercentEncoding {
    package static func encode(_ text: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if b >= 0x20, b <= 0x7E, b != UInt8(ascii: "%") {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(Hex.digit(b >> 4, uppercase: true))
                out.append(Hex.digit(b & 0xF, uppercase: true))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes leniently: a malformed escape is kept as is (the spec asks clients not to fail).
    package static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let hi = Hex.value(ofDigit: bytes[i + 1]), let lo = Hex.value(ofDigit: bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
