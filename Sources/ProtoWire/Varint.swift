/// Base-128 varints (protobuf's, and LEB128 as the store's record format uses it): the one
/// encoder and decoder every reader of this package goes through. Generic and inlinable so
/// that byte arrays, slices and raw buffers all decode without copying.
public enum Varint {
    /// The longest encoding of a 64-bit value.
    public static let maxLength = 10

    /// Decodes the varint at `index`, moving `index` past it; nil when the input ends inside
    /// it or it runs over 10 bytes (`index` is then left where reading stopped).
    @inlinable
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes, at index: inout Bytes.Index) -> UInt64?
    where Bytes.Element == UInt8 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.endIndex, shift < 64 {
            let b = bytes[index]
            bytes.formIndex(after: &index)
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    /// Appends the encoding of `value` (1 to 10 bytes).
    @inlinable
    public static func encode(_ value: UInt64, into bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// How many bytes `encode` writes for `value`.
    @inlinable
    public static func encodedLength(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }
}
