/// Writes protobuf wire format.
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func tag(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | type.rawValue)
    }

    public mutating func varint(_ value: UInt64) {
        Varint.encode(value, into: &bytes)
    }

    public mutating func fixed32(_ value: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    public mutating func fixed64(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    public mutating func lengthDelimited(_ payload: some Collection<UInt8>) {
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    public mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Bytes written so far.
    public var count: Int { bytes.count }

    /// Drops what was written after the first `count` bytes (undoes a field).
    public mutating func truncate(to count: Int) { bytes.removeSubrange(count...) }
}
