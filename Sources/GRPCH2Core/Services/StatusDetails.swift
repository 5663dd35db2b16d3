import ProtobufCBridge

/// gRPC's rich error model: `google.rpc.Status` with typed details, carried in the
/// `grpc-status-details-bin` trailer.
extension RPCError {
    /// An error whose details are `google.rpc.Status { code, message, details }`.
    public init(code: StatusCode, message: String, details: [any ProtoMessage], trailingMetadata: Metadata = Metadata()) {
        var status = Google_Rpc_Status()
        status.code = Int32(code.rawValue)
        status.message = message
        status.details = details.map { Google_Protobuf_Any(packing: $0) }
        self.init(code: code, message: message, statusDetails: status.serializedBytes(), trailingMetadata: trailingMetadata)
    }

    /// The decoded `google.rpc.Status` of this error, if it carries one.
    public var status: Google_Rpc_Status? {
        statusDetails.flatMap { try? Google_Rpc_Status(serializedBytes: $0) }
    }
}

extension Google_Protobuf_Any {
    /// Packs a message with the `type.googleapis.com/` type URL prefix.
    public init(packing message: some ProtoMessage) {
        self.init()
        typeURL = "type.googleapis.com/" + type(of: message).protoMessageName
        value = message.serializedBytes()
    }

    /// Unpacks into `M` when the type URL names it.
    public func unpack<M: ProtoMessage>(_: M.Type) -> M? {
        guard typeURL.hasSuffix("/" + M.protoMessageName) else { return nil }
        return try? M(serializedBytes: value)
    }
}
