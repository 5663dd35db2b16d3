/// The protobuf wire format: a reader and a writer for the dynamic codec and the descriptor
/// parser (GRPCH2's reader is internal to it and reads no groups).

/// How a value is laid out on the wire.
enum WireType: UInt64 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// One field value as read from the wire, before its declared type interprets it.
enum WireValue {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    case bytes(ArraySlice<UInt8>)
    /// A proto2 group: the bytes between its start and end tags.
    case group(ArraySlice<UInt8>)

    var wireType: WireType {
        switch self {
        case .varint: .varint
        case .fixed64: .fixed64
        case .fixed32: .fixed32
        case .bytes: .lengthDelimited
        case .group: .startGroup
        }
    }
}

/// The bytes are not valid protobuf wire format.
struct WireFormatError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "malformed protobuf: \(reason)" }
}

/// Reads `(field number, value)` pairs from protobuf bytes.
struct WireReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var isAtEnd: Bool { index >= bytes.endIndex }

    /// The next field, or nil at the end of the input.
    mutating func next() throws(WireFormatError) -> (field: Int, value: WireValue)? {
        guard index < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0 else { throw WireFormatError(reason: "field number 0") }
        guard let type = WireType(rawValue: key & 7) else { throw WireFormatError(reason: "wire type \(key & 7) in field \(field)") }
        switch type {
        case .varint: return (field, .varint(try varint()))
        case .fixed64: return (field, .fixed64(try fixed(8)))
        case .fixed32: return (field, .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case .lengthDelimited: return (field, .bytes(try lengthDelimited(field)))
        case .startGroup:
            let start = index
            var depth = 1
            var end = index
            while depth > 0 {
                guard index < bytes.endIndex else { throw WireFormatError(reason: "unterminated group \(field)") }
                let keyStart = index
                let inner = try varint()
                switch WireType(rawValue: inner & 7) {
                case .varint?: _ = try varint()
                case .fixed64?: _ = try fixed(8)
                case .fixed32?: _ = try fixed(4)
                case .lengthDelimited?: _ = try lengthDelimited(field)
                case .startGroup?: depth += 1
                case .endGroup?:
                    depth -= 1
                    if depth == 0 { end = keyStart }
                case nil: throw WireFormatError(reason: "wire type \(inner & 7) in group \(field)")
                }
            }
            return (field, .group(bytes[start..<end]))
        case .endGroup:
            throw WireFormatError(reason: "unexpected end of group \(field)")
        }
    }

    mutating func varint() throws(WireFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.endIndex, shift < 64 {
            let b = bytes[index]
            index += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw WireFormatError(reason: index >= bytes.endIndex ? "truncated varint" : "varint longer than 10 bytes")
    }

    mutating func fixed(_ n: Int) throws(WireFormatError) -> UInt64 {
        guard bytes.endIndex - index >= n else { throw WireFormatError(reason: "truncated fixed\(n * 8) value") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += n
        return v
    }

    private mutating func lengthDelimited(_ field: Int) throws(WireFormatError) -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.endIndex - index) else { throw WireFormatError(reason: "truncated field \(field)") }
        let end = index + Int(length)
        defer { index = end }
        return bytes[index..<end]
    }
}

/// Writes protobuf wire format.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    init() {}

    mutating func tag(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | type.rawValue)
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func fixed32(_ value: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func fixed64(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func lengthDelimited(_ payload: some Collection<UInt8>) {
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
}

/// ZigZag encoding of signed integers (sint32, sint64).
enum ZigZag {
    static func encode(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func decode(_ v: UInt64) -> Int64 { Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))) }
}
