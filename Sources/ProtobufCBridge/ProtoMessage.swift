/// A protobuf message as a Sendable Swift value.
///
/// Generated types (see `scripts/gen-swift-messages.py`) conform to this protocol; their
/// encoding and decoding go through libprotobuf-c (`ProtobufCMessageCodec`), the one place
/// where kato touches protobuf-c structs. Handlers and clients only ever see these values.
public protocol ProtoMessage: Sendable, Hashable {
    /// The fully-qualified protobuf name, e.g. `grpc.health.v1.HealthCheckRequest`.
    static var protoMessageName: String { get }

    /// Creates an empty message (every field at its proto3 default).
    init()

    /// Decodes the protobuf wire format.
    /// - Throws: `ProtoDecodingError` when the bytes are not a valid encoding of this message.
    init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError)

    /// Encodes the message in the protobuf wire format.
    func serializedBytes() -> [UInt8]
}

/// The bytes given to `ProtoMessage.init(serializedBytes:)` are not a valid message.
public struct ProtoDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message type that failed to decode.
    public var messageName: String
    /// Why decoding failed.
    public var reason: String

    public init(messageName: String, reason: String) {
        self.messageName = messageName
        self.reason = reason
    }

    public var description: String { "cannot decode \(messageName): \(reason)" }
}
