import ProtobufCBridge

/// A message kept as its serialized bytes: lets `ClientCall.responses(_:)` hand over raw
/// responses for the dynamic codec to decode.
struct RawMessage: ProtoMessage {
    static let protoMessageName = "kato.cli.RawMessage"
    static var cDescriptor: ProtoCDescriptor { Google_Protobuf_Empty.cDescriptor }

    var bytes: [UInt8] = []

    init() {}

    init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError) {
        self.bytes = bytes
    }

    func serializedBytes() -> [UInt8] { bytes }

    init(protoC reader: ProtoCReader) throws(ProtoDecodingError) {
        throw ProtoDecodingError(messageName: Self.protoMessageName, reason: "raw messages are not read through protobuf-c")
    }

    func writeProtoC(to writer: ProtoCWriter) {}
}
