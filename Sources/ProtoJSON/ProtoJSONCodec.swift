import ProtoWire
import StrictJSON

/// proto3 JSON text ⇄ protobuf binary for the message types of one descriptor pool: the
/// entry point for a server that answers JSON (Connect, gRPC-Web JSON) with handlers that
/// speak binary, and for the CLI. Descriptors are indexed once, when the codec is made; a
/// codec is an immutable value, safe to share between connections.
///
/// Every failure is a `CodecError`, the client's fault (INVALID_ARGUMENT), naming the field.
public struct ProtoJSONCodec: Sendable {
    public struct Options: Sendable {
        /// Skip JSON members (and enum names) the message type does not declare, instead of
        /// rejecting them (Connect's and protobuf's opt-in "discard unknown").
        public var ignoreUnknownFields: Bool
        /// Print fields holding their default value (proto3 JSON's "emit defaults").
        public var emitDefaults: Bool

        public init(ignoreUnknownFields: Bool = false, emitDefaults: Bool = false) {
            self.ignoreUnknownFields = ignoreUnknownFields
            self.emitDefaults = emitDefaults
        }
    }

    public let pool: DescriptorPool
    public var options: Options

    public init(pool: DescriptorPool, options: Options = Options()) {
        self.pool = pool
        self.options = options
    }

    /// Indexes a serialized FileDescriptorSet (e.g. `protoc --include_imports
    /// --descriptor_set_out`), with the compiled-in well-known types filling any gap.
    public init(fileDescriptorSet: [UInt8], options: Options = Options()) throws(CodecError) {
        var pool = DescriptorPool()
        do {
            try pool.add(fileDescriptorSet: fileDescriptorSet)
        } catch {
            throw CodecError(.malformedBinary, "descriptor set: \(error.reason)")
        }
        pool.addWellKnownTypes()
        self.init(pool: pool, options: options)
    }

    /// JSON text (UTF-8) → the binary encoding of `messageType`.
    public func binary(fromJSON json: [UInt8], messageType: String) throws(CodecError) -> [UInt8] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes: json)
        } catch {
            throw CodecError(.invalidJSON, error.description)
        }
        return try binary(from: value, messageType: messageType)
    }

    /// A parsed JSON value → the binary encoding of `messageType`.
    public func binary(from json: JSONValue, messageType: String) throws(CodecError) -> [UInt8] {
        try Self.typed { try JSONToProto(pool: pool, ignoreUnknownFields: options.ignoreUnknownFields).encode(json, as: messageType) }
    }

    /// The binary encoding of `messageType` → compact JSON text (UTF-8).
    public func json(fromBinary bytes: [UInt8], messageType: String) throws(CodecError) -> [UInt8] {
        JSONPrinter(compact: true).printUTF8(try jsonValue(fromBinary: bytes, messageType: messageType))
    }

    /// The binary encoding of `messageType` → a JSON value.
    public func jsonValue(fromBinary bytes: [UInt8], messageType: String) throws(CodecError) -> JSONValue {
        try Self.typed { try ProtoToJSON(pool: pool, emitDefaults: options.emitDefaults).decode(bytes, as: messageType) }
    }

    /// The codec's three failure sources as one typed error.
    private static func typed<T>(_ body: () throws -> T) throws(CodecError) -> T {
        do {
            return try body()
        } catch let error as CodecError {
            throw error
        } catch let error as MissingDescriptor {
            throw CodecError(.unknownType, "unknown message type \(error.name)")
        } catch let error as WireFormatError {
            throw CodecError(.malformedBinary, error.description)
        } catch {
            throw CodecError(.invalidValue, "\(error)")
        }
    }
}
