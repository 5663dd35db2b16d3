/// The protobuf wire format's vocabulary: wire types and one undecoded field value.

/// How a value is laid out on the wire.
public enum WireType: UInt64, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// One field value as read from the wire, before its declared type interprets it.
public enum WireValue: Sendable, Equatable {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    case bytes(ArraySlice<UInt8>)
    /// A proto2 group: the bytes between its start and end tags.
    case group(ArraySlice<UInt8>)

    public var wireType: WireType {
        switch self {
        case .varint: .varint
        case .fixed64: .fixed64
        case .fixed32: .fixed32
        case .bytes: .lengthDelimited
        case .group: .startGroup
        }
    }
}
