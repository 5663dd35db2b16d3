/// A protobuf message as a Sendable Swift value.
///
/// Generated types (see `scripts/gen_swift_messages.py`, run by `scripts/gen-proto`) conform
/// to this protocol; their encoding and decoding go through libprotobuf-c, and the only code
/// that touches protobuf-c structs is this module's `ProtoCReader` and `ProtoCWriter`.
/// Handlers and clients only ever see these values.
///
/// ```swift
/// var request = Grpc_Health_V1_HealthCheckRequest()
/// request.service = "kato.v2.ObserveService"
/// let bytes = request.serializedBytes()
/// let decoded = try Grpc_Health_V1_HealthCheckRequest(serializedBytes: bytes)
/// ```
public protocol ProtoMessage: Sendable, Hashable {
    /// The fully-qualified protobuf name, e.g. `grpc.health.v1.HealthCheckRequest`.
    static var protoMessageName: String { get }

    /// The protobuf-c descriptor of the C struct this message is encoded through.
    static var cDescriptor: ProtoCDescriptor { get }

    /// Creates an empty message (every field at its proto3 default).
    init()

    /// Decodes the protobuf wire format.
    /// - Throws: `ProtoDecodingError` when the bytes are not a valid encoding of this message.
    init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError)

    /// Encodes the message in the protobuf wire format.
    func serializedBytes() -> [UInt8]

    /// Reads every field from an unpacked protobuf-c struct (generated; call
    /// `init(serializedBytes:)` instead).
    init(protoC reader: ProtoCReader) throws(ProtoDecodingError)

    /// Writes every field into a protobuf-c struct (generated; call `serializedBytes()` instead).
    func writeProtoC(to writer: ProtoCWriter)
}

/// The bytes given to `ProtoMessage.init(serializedBytes:)` are not a valid message.
public struct ProtoDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message type that failed to decode.
    public var messageName: String
    /// Why decoding failed.
    public var reason: String

    /// Creates an error for `messageName` with a human-readable `reason`.
    public init(messageName: String, reason: String) {
        self.messageName = messageName
        self.reason = reason
    }

    public var description: String { "cannot decode \(messageName): \(reason)" }
}
