internal import CProtobufC

extension ProtoMessage {
    /// Decodes the protobuf wire format through `protobuf_c_message_unpack`.
    ///
    /// protobuf-c rejects truncated input, wrong wire types, over-long varints and lengths
    /// beyond the buffer; this layer additionally rejects strings that are not valid UTF-8
    /// (protobuf-c 1.4.1 does not check) and messages nested more than 100 levels deep
    /// (protobuf-c has no limit; see `ProtoNestingLimit`). Unknown fields are skipped. Every C allocation
    /// comes from a per-call arena, so nothing needs `protobuf_c_message_free_unpacked`.
    ///
    /// Known limit: protobuf-c strings are NUL-terminated, so a string field that contains
    /// U+0000 decodes only up to the first NUL.
    public init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError) {
        self.init()
        try ProtoCCodec.unpack(Self.cDescriptor, bytes) { (reader) throws(ProtoDecodingError) in
            self = try Self(protoC: reader)
        }
    }

    /// Decodes the protobuf wire format from borrowed memory (e.g. a network buffer), without
    /// copying it first. See `init(serializedBytes: [UInt8])`.
    public init(serializedBytes buffer: UnsafeRawBufferPointer) throws(ProtoDecodingError) {
        // The C work is in non-generic code, so an unspecialised caller pays no generic-metadata lookups.
        self.init()
        try ProtoCCodec.unpack(Self.cDescriptor, buffer) { (reader) throws(ProtoDecodingError) in
            self = try Self(protoC: reader)
        }
    }

    /// Encodes the protobuf wire format through `protobuf_c_message_pack`.
    public func serializedBytes() -> [UInt8] {
        serializedBytes(headroom: 0)
    }

    /// Encodes the protobuf wire format after `headroom` zero bytes, so a caller can fill in a
    /// frame header (gRPC's 5-byte prefix) without copying the message again.
    public func serializedBytes(headroom: Int) -> [UInt8] {
        ProtoCCodec.pack(Self.cDescriptor, headroom: headroom) { writeProtoC(to: $0) }
    }

    /// The size in bytes of the encoded message.
    public var serializedSize: Int {
        ProtoCCodec.packedSize(Self.cDescriptor) { writeProtoC(to: $0) }
    }

    /// Encodes the message into the start of `buffer`, which must hold at least
    /// `serializedSize` bytes, and returns the number of bytes written.
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        ProtoCCodec.pack(Self.cDescriptor, into: buffer) { writeProtoC(to: $0) }
    }
}

/// The non-generic calls into libprotobuf-c behind `ProtoMessage`'s codec.
enum ProtoCCodec {
    static func unpack(
        _ descriptor: ProtoCDescriptor,
        _ bytes: [UInt8],
        _ read: (ProtoCReader) throws(ProtoDecodingError) -> Void
    ) throws(ProtoDecodingError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtoDecodingError) in try unpack(descriptor, buffer, read) }
        }
        try result.get()
    }

    static func unpack(
        _ descriptor: ProtoCDescriptor,
        _ buffer: UnsafeRawBufferPointer,
        _ read: (ProtoCReader) throws(ProtoDecodingError) -> Void
    ) throws(ProtoDecodingError) {
        let d = descriptor.pointer
        if descriptor.needsNestingCheck && !ProtoNestingLimit.isWithinLimit(d, buffer) {
            throw ProtoDecodingError(
                messageName: String(cString: d.pointee.name),
                reason: "messages nested deeper than \(ProtoNestingLimit.limit) levels"
            )
        }
        try ProtoArena.with(sizeHint: d.pointee.sizeof_message &+ 2 &* buffer.count) { (arena) throws(ProtoDecodingError) in
            var allocator = ProtoArena.cAllocator(arena)
            guard
                let unpacked = protobuf_c_message_unpack(
                    d, &allocator, buffer.count, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                )
            else {
                throw ProtoDecodingError(
                    messageName: String(cString: d.pointee.name),
                    reason: "malformed protobuf wire data (\(buffer.count) bytes rejected by protobuf-c)"
                )
            }
            try read(ProtoCReader(message: UnsafeRawPointer(unpacked), descriptor: d))
        }
    }

    static func pack(_ descriptor: ProtoCDescriptor, headroom: Int, _ write: (ProtoCWriter) -> Void) -> [UInt8] {
        precondition(headroom >= 0, "negative headroom")
        return ProtoArena.with { arena in
            let message = build(descriptor, arena, write)
            let size = protobuf_c_message_get_packed_size(message)
            return [UInt8](unsafeUninitializedCapacity: headroom &+ size) { buffer, initialized in
                let base = buffer.baseAddress!
                base.initialize(repeating: 0, count: headroom)
                let written = size == 0 ? 0 : protobuf_c_message_pack(message, base + headroom)
                assert(written == size, "protobuf-c packed \(written) bytes, promised \(size)")
                initialized = headroom &+ written
            }
        }
    }

    static func pack(_ descriptor: ProtoCDescriptor, into buffer: UnsafeMutableRawBufferPointer, _ write: (ProtoCWriter) -> Void) -> Int {
        ProtoArena.with { arena in
            let message = build(descriptor, arena, write)
            let size = protobuf_c_message_get_packed_size(message)
            precondition(buffer.count >= size, "buffer of \(buffer.count) bytes cannot hold \(size)")
            guard size > 0 else { return 0 }
            return protobuf_c_message_pack(message, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    static func packedSize(_ descriptor: ProtoCDescriptor, _ write: (ProtoCWriter) -> Void) -> Int {
        ProtoArena.with { arena in protobuf_c_message_get_packed_size(build(descriptor, arena, write)) }
    }

    /// Builds the C struct tree of one message in `arena`.
    private static func build(
        _ descriptor: ProtoCDescriptor,
        _ arena: UnsafeMutablePointer<ProtoArena>,
        _ write: (ProtoCWriter) -> Void
    ) -> UnsafePointer<ProtobufCMessage> {
        let writer = ProtoCWriter.newMessage(descriptor.pointer, in: arena)
        write(writer)
        return UnsafePointer(writer.message.assumingMemoryBound(to: ProtobufCMessage.self))
    }
}
