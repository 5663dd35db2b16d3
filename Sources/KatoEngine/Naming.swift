import Crypto

/// Content-derived names: `PTRN|` pattern names and `VCTR|` vector symbols.
public enum Naming {
    /// The bare pattern hash: sha1 hex of Python's `repr` of the events (`[['a', 'b'], ['c']]`).
    public static func patternHash(_ events: [[String]]) -> String {
        hex(Insecure.SHA1.hash(data: PythonRepr.eventsUTF8(events)))
    }

    /// The vector symbol: `VCTR|` + sha1 hex of numpy's `str()` of the vector.
    public static func vectorSymbol(_ vector: [Double]) -> String {
        "VCTR|" + sha1Hex(NumpyArrayFormat.string(vector))
    }

    /// The public pattern name `PTRN|<hash>`.
    public static func publicName(_ hash: String) -> String { "PTRN|" + hash }

    /// Strips an optional `PTRN|` prefix.
    public static func bareHash(_ name: String) -> String {
        name.hasPrefix("PTRN|") ? String(name.dropFirst(5)) : name
    }

    /// Lowercase hex sha1 of the UTF-8 bytes of `text`.
    public static func sha1Hex(_ text: String) -> String {
        hex(Insecure.SHA1.hash(data: Array(text.utf8)))
    }

    /// Lowercase hex md5 of the UTF-8 bytes of `text`.
    public static func md5Hex(_ text: String) -> String {
        hex(Insecure.MD5.hash(data: Array(text.utf8)))
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let chars = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(chars[Int(b >> 4)])
            out.append(chars[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
