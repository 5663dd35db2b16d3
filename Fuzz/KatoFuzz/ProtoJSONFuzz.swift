import KatoProto
import ProtoJSON
import StrictJSON

/// The CLI's codecs (`kato call`) over the descriptors kato-server's reflection serves
/// (kato.v2, health, reflection, the well-known types) plus the CLI's embedded ones.
///
/// Input: byte 0 picks the mode — protobuf → JSON, JSON → protobuf, text → protobuf,
/// protobuf → text — byte 1 the message type (of every message in the pool, sorted by name),
/// the rest is the payload. Whatever decodes must survive a round trip: the JSON of the
/// protobuf made from a JSON value equals that JSON value.
enum ProtoJSONFuzz {
    static let pool: DescriptorPool = {
        var pool = DescriptorPool()
        do {
            try pool.add(fileDescriptorSet: KatoDescriptors.descriptorSet)
            try pool.add(fileDescriptorSet: EmbeddedDescriptors.wellKnownTypes)
        } catch {
            preconditionFailure("the compiled-in descriptors do not parse: \(error)")
        }
        return pool
    }()

    /// Every message type of the pool, map entries included (they are messages on the wire).
    static let typeNames: [String] = pool.messages.keys.sorted()

    static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let typeName = typeNames[Int(data[1]) % typeNames.count]
        let payload = Array(data.dropFirst(2))
        switch data[0] % 4 {
        case 0:
            guard let json = try? ProtoToJSON(pool: pool).decode(payload, as: typeName) else { return }
            checkRoundTrip(json, typeName)
        case 1:
            guard let value = try? JSONParser.parse(String(decoding: payload, as: UTF8.self)),
                  let bytes = try? JSONToProto(pool: pool).encode(value, as: typeName) else { return }
            // What the encoder accepted must decode; its JSON must then be stable.
            let json: JSONValue
            do {
                json = try ProtoToJSON(pool: pool).decode(bytes, as: typeName)
            } catch {
                preconditionFailure("\(typeName): the encoding of accepted JSON does not decode: \(error)")
            }
            checkRoundTrip(json, typeName)
        case 2:
            guard let bytes = try? TextToProto(pool: pool).encode(String(decoding: payload, as: UTF8.self), as: typeName) else { return }
            _ = try? ProtoToText(pool: pool).decode(bytes, as: typeName)
        default:
            _ = try? ProtoToText(pool: pool).decode(payload, as: typeName)
        }
    }

    /// JSON printed by the decoder is accepted by the encoder, and the bytes it makes decode to
    /// the same JSON.
    static func checkRoundTrip(_ json: JSONValue, _ typeName: String) {
        let text = JSONPrinter().print(json)
        let reparsed: JSONValue
        let bytes: [UInt8]
        let again: JSONValue
        do {
            reparsed = try JSONParser.parse(text)
            bytes = try JSONToProto(pool: pool).encode(reparsed, as: typeName)
            again = try ProtoToJSON(pool: pool).decode(bytes, as: typeName)
        } catch {
            preconditionFailure("\(typeName): decoded JSON does not encode again: \(error)\n\(text)")
        }
        precondition(again == json, "\(typeName): JSON changes in a round trip\n\(text)\n\(JSONPrinter().print(again))")
    }
}
