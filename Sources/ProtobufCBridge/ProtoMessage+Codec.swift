internal import CProtobufC

extension ProtoMessage {
    /// Decodes the protobuf wire format through `protobuf_c_message_unpack`.
    ///
    /// protobuf-c rejects truncated input, wrong wire types, over-long varints and lengths
    /// beyond the buffer; this layer additionally rejects strings that are not valid UTF-8
    /// (protobuf-c 1.4.1 does not check). Unknown fields are skipped. Every C allocation
    /// comes from a per-call arena, so nothing needs `protobuf_c_message_free_unpacked`.
    ///
    /// Known limit: protobuf-c strings are NUL-terminated, so a string field that contains
    /// U+0000 decodes only up to the first NUL.
    public init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtoDecodingError) in try Self(serializedBytes: buffer) }
        }
        self = try result.get()
    }

    /// Decodes the protobuf wire format from borrowed memory (e.g. a network buffer), without
    /// copying it first. See `init(serializedBytes: [UInt8])`.
    public init(serializedBytes buffer: UnsafeRawBufferPointer) throws(ProtoDecodingError) {
        let descriptor = Self.cDescriptor.pointer
        self = try ProtoArena.with(sizeHint: descriptor.pointee.sizeof_message &+ 2 &* buffer.count) {
            (arena) throws(ProtoDecodingError) -> Self in
            var allocator = ProtoArena.cAllocator(arena)
            guard
                let unpacked = protobuf_c_message_unpack(
                    descriptor, &allocator, buffer.count, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                )
            else {
                throw ProtoDecodingError(
                    messageName: Self.protoMessageName,
                    reason: "malformed protobuf wire data (\(buffer.count) bytes rejected by protobuf-c)"
                )
            }
            return try Self(protoC: ProtoCReader(message: UnsafeRawPointer(unpacked), descriptor: descriptor))
        }
    }

    /// Encodes the protobuf wire format through `protobuf_c_message_pack`.
    public func serializedBytes() -> [UInt8] {
        serializedBytes(headroom: 0)
    }

    /// Encodes the protobuf wire format after `headroom` zero bytes, so a caller can fill in a
    /// frame header (gRPC's 5-byte prefix) without copying the message again.
    public func serializedBytes(headroom: Int) -> [UInt8] {
        precondition(headroom >= 0, "negative headroom")
        return withPackedMessage { message, size in
            [UInt8](unsafeUninitializedCapacity: headroom &+ size) { buffer, initialized in
                let base = buffer.baseAddress!
                base.initialize(repeating: 0, count: headroom)
                let written = size == 0 ? 0 : protobuf_c_message_pack(message, base + headroom)
                assert(written == size, "protobuf-c packed \(written) bytes, promised \(size)")
                initialized = headroom &+ written
            }
        }
    }

    /// The size in bytes of the encoded message.
    public var serializedSize: Int {
        withPackedMessage { _, size in size }
    }

    /// Encodes the message into the start of `buffer`, which must hold at least
    /// `serializedSize` bytes, and returns the number of bytes written.
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        withPackedMessage { message, size in
            precondition(buffer.count >= size, "buffer of \(buffer.count) bytes cannot hold \(size)")
            guard size > 0 else { return 0 }
            return protobuf_c_message_pack(message, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Builds the C struct tree of this message in a fresh arena and passes it with its
    /// packed size to `body`.
    private func withPackedMessage<R>(_ body: (UnsafePointer<ProtobufCMessage>, Int) -> R) -> R {
        ProtoArena.with { arena in
            let writer = ProtoCWriter.newMessage(Self.cDescriptor.pointer, in: arena)
            writeProtoC(to: writer)
            let message = UnsafePointer(writer.message.assumingMemoryBound(to: ProtobufCMessage.self))
            return body(message, protobuf_c_message_get_packed_size(message))
        }
    }
}
