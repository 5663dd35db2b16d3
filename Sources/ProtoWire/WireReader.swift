/// The one protobuf wire-format reader: the dynamic codec, the descriptor parsers and the
/// reflection index read through it.

/// The bytes are not valid protobuf wire format.
public struct WireFormatError: Error, CustomStringConvertible, Sendable, Hashable {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "malformed protobuf: \(reason)" }
}

/// Reads `(field number, value)` pairs from protobuf bytes.
public struct WireReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public var isAtEnd: Bool { index >= bytes.endIndex }

    /// The next field, or nil at the end of the input.
    public mutating func next() throws(WireFormatError) -> (field: Int, value: WireValue)? {
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

    public mutating func varint() throws(WireFormatError) -> UInt64 {
        guard let v = Varint.decode(bytes, at: &index) else {
            throw WireFormatError(reason: index >= bytes.endIndex ? "truncated varint" : "varint longer than 10 bytes")
        }
        return v
    }

    public mutating func fixed(_ n: Int) throws(WireFormatError) -> UInt64 {
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
