/// A response message with its gRPC length prefix (5 bytes: uncompressed flag, big-endian
/// length), framed once. A fan-out hands the same value to every stream (`ResponsePushSource`):
/// an idle stream's send buffer then is this array itself — no copy and no allocation per
/// stream — and a busy one appends it with one copy. Arrays are copy-on-write, so sharing is safe.
public struct FramedMessage: Sendable, Hashable {
    /// The prefix followed by the message.
    public let bytes: [UInt8]

    /// Frames `message` (one copy, made once for all the streams that send it).
    public init(_ message: [UInt8]) {
        var framed: [UInt8] = []
        MessageFramer.frame(message, compressed: false, into: &framed)
        bytes = framed
    }

    /// The message without its prefix.
    public var message: ArraySlice<UInt8> { bytes[MessageFramer.prefixLength...] }

    /// The message's length (without the prefix).
    public var messageCount: Int { bytes.count - MessageFramer.prefixLength }
}
