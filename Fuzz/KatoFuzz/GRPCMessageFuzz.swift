import GRPCH2
import GRPCH2Core
import KatoProto
import ProtobufCBridge

/// A request body as the server reads it: gRPC length-prefixed framing (`MessageDeframer`,
/// gzip for compressed messages), then the protobuf decode of the method's request type
/// (libprotobuf-c through ProtobufCBridge).
///
/// Input: byte 0 picks the message type (every kato.v2, grpc.health.v1 and reflection
/// v1/v1alpha message), byte 1 how the body is split into DATA-frame-sized chunks, the rest is
/// the body. A message that decodes must re-encode to bytes that decode to the same message.
enum GRPCMessageFuzz {
    static let messageTypes: [any ProtoMessage.Type] =
        Kato_V2_ProtoFiles.messageTypes + Grpc_Health_V1_ProtoFiles.messageTypes + Grpc_Reflection_V1_ProtoFiles.messageTypes
        + Grpc_Reflection_V1alpha_ProtoFiles.messageTypes

    /// The server's default receive limit is 4 MiB; a smaller one keeps inputs' allocations small
    /// and still exercises the refusal.
    static let maxMessageSize = 64 * 1024

    static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let type = messageTypes[Int(data[0]) % messageTypes.count]
        let chunk = 1 + Int(data[1]) * 4
        let body = UnsafeRawBufferPointer(rebasing: data.dropFirst(2))
        var deframer = MessageDeframer(maxMessageSize: maxMessageSize)
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + chunk)
            deframer.append(UnsafeRawBufferPointer(rebasing: body[offset..<end]))
            offset = end
            while true {
                let message: MessageDeframer.Message?
                do {
                    message = try deframer.next()
                } catch {
                    return  // the stream is refused (RESOURCE_EXHAUSTED / INTERNAL)
                }
                guard let message else { break }
                var bytes = message.bytes
                if message.compressed {
                    guard let inflated = try? Gzip.decompress(bytes, limit: maxMessageSize) else { continue }
                    bytes = inflated
                }
                decode(bytes, as: type)
            }
        }
    }

    static func decode<M: ProtoMessage>(_ bytes: [UInt8], as type: M.Type) {
        guard let message = try? M(serializedBytes: bytes) else { return }
        let once = message.serializedBytes()
        guard let again = try? M(serializedBytes: once) else {
            preconditionFailure("\(M.protoMessageName): its own encoding does not decode")
        }
        precondition(again.serializedBytes() == once, "\(M.protoMessageName): the encoding changes in a round trip")
        precondition(message.serializedSize == once.count, "\(M.protoMessageName): serializedSize disagrees with the encoding")
    }
}
