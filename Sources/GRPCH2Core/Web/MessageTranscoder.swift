import ProtoJSON

/// JSON ⇄ binary for the messages of the methods a server registers, so JSON web calls reach
/// the same binary handlers. Built once from the server's descriptors; shared by connections.
public struct MessageTranscoder: Sendable {
    let codec: ProtoJSONCodec

    /// `codec`'s pool must hold the services' descriptors (and their dependencies).
    public init(codec: ProtoJSONCodec) {
        self.codec = codec
    }

    /// A request's JSON → its binary encoding. An empty body is the empty message.
    public func request(fromJSON json: [UInt8], path: String) throws(RPCError) -> [UInt8] {
        let method = try self.method(path)
        if json.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [] }
        do {
            return try codec.binary(fromJSON: json, messageType: method.inputType)
        } catch {
            throw RPCError(code: .invalidArgument, message: "request is not a valid \(DescriptorPool.strip(method.inputType)) in JSON: \(error.message)", cause: error)
        }
    }

    /// A response's binary encoding → JSON.
    public func response(toJSON bytes: [UInt8], path: String) throws(RPCError) -> [UInt8] {
        let method = try self.method(path)
        do {
            return try codec.json(fromBinary: bytes, messageType: method.outputType)
        } catch {
            throw RPCError(code: .internalError, message: "response cannot be written as JSON: \(error.message)", cause: error)
        }
    }

    private func method(_ path: String) throws(RPCError) -> MethodDescriptor {
        guard let method = codec.pool.method(String(path.drop { $0 == "/" })) else {
            throw RPCError(code: .unimplemented, message: "no JSON mapping for \(path): its descriptor is not registered")
        }
        return method
    }
}
