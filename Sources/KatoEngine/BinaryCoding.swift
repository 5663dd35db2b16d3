/// A compact binary form for moving sessions between processes (a restart by hand-over): varints,
/// little-endian doubles, length-prefixed UTF-8, no field names. Written and read in one fixed
/// order by the types that use it (`SessionState+Binary.swift`), so it has no schema of its own:
/// a change of that order is a new format version, decided by the caller.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zigzag, so small negative numbers stay short.
    public mutating func int(_ value: Int) {
        let v = Int64(value)
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    public mutating func count(_ value: Int) { varint(UInt64(value)) }

    /// Bit for bit (NaN payloads and signed zeros included).
    public mutating func double(_ value: Double) {
        var v = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func string(_ value: String) {
        var s = value
        s.withUTF8 { utf8 in
            count(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func byteArray(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func strings(_ value: [String]) {
        count(value.count)
        for s in value { string(s) }
    }

    /// Events (lists of symbols): the STM, a pattern's parts.
    public mutating func events(_ value: [[String]]) {
        count(value.count)
        for e in value { strings(e) }
    }

    /// Keys sorted, so equal dictionaries give equal bytes.
    public mutating func doubles(_ value: [String: Double]) {
        count(value.count)
        for key in value.keys.sorted() {
            string(key)
            double(value[key]!)
        }
    }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked and throws on truncated or
/// malformed input (never traps).
public struct BinaryReader: Sendable {
    let data: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.data = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == data.count }

    func fail(_ what: String) -> BinaryFormatError { BinaryFormatError("\(what) at byte \(offset) of \(data.count)") }

    public mutating func varint() throws(BinaryFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < data.count else { throw fail("truncated varint") }
            let b = data[offset]
            offset += 1
            guard shift < 64 else { throw fail("varint too long") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func int() throws(BinaryFormatError) -> Int {
        let v = try varint()
        return Int(Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))))
    }

    /// A count of items that follow, each at least one byte: bounded by what is left.
    public mutating func count() throws(BinaryFormatError) -> Int {
        let v = try varint()
        guard v <= UInt64(data.count - offset) else { throw fail("count \(v) beyond the data") }
        return Int(v)
    }

    public mutating func double() throws(BinaryFormatError) -> Double {
        guard data.count - offset >= 8 else { throw fail("truncated double") }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(data[offset + i]) }
        offset += 8
        return Double(bitPattern: v)
    }

    public mutating func bool() throws(BinaryFormatError) -> Bool {
        guard offset < data.count else { throw fail("truncated bool") }
        defer { offset += 1 }
        switch data[offset] {
        case 0: return false
        case 1: return true
        default: throw fail("bad bool \(data[offset])")
        }
    }

    public mutating func byte() throws(BinaryFormatError) -> UInt8 {
        guard offset < data.count else { throw fail("truncated tag") }
        defer { offset += 1 }
        return data[offset]
    }

    public mutating func string() throws(BinaryFormatError) -> String {
        let n = try count()
        defer { offset += n }
        return String(decoding: data[offset..<offset + n], as: UTF8.self)
    }

    public mutating func byteArray() throws(BinaryFormatError) -> [UInt8] {
        let n = try count()
        defer { offset += n }
        return Array(data[offset..<offset + n])
    }

    public mutating func strings() throws(BinaryFormatError) -> [String] {
        let n = try count()
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }

    public mutating func events() throws(BinaryFormatError) -> [[String]] {
        let n = try count()
        var out: [[String]] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try strings()) }
        return out
    }

    public mutating func doubles() throws(BinaryFormatError) -> [String: Double] {
        let n = try count()
        var out: [String: Double] = Dictionary(minimumCapacity: n)
        for _ in 0..<n {
            let key = try string()
            out[key] = try double()
        }
        return out
    }
}

/// Bytes that are not what `BinaryWriter` wrote (truncated, a bad tag, a count beyond the data).
public struct BinaryFormatError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
