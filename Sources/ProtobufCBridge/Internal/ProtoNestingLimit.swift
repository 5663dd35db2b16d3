// See ProtoCReader.swift for why CGRPCProtos is imported next to CProtobufC.
internal import CGRPCProtos
internal import CProtobufC

/// Guards against stack exhaustion on hostile input: protobuf-c 1.4.1 unpacks nested messages
/// recursively with no depth limit, and so do the Swift initialisers, `==`, `hash` and `deinit`
/// of recursive types (google.protobuf.Value/Struct/ListValue). A few bytes per level are
/// enough to nest a 4 MiB message a million levels deep.
///
/// For message types whose nesting is bounded by their schema below `limit`, nothing is
/// checked. For the others (recursive types and everything that contains one, such as
/// `kato.v2.ObserveRequest.metadata`), the wire bytes are scanned once before unpacking and
/// nesting deeper than `limit` (protobuf C++'s default recursion limit) is rejected.
enum ProtoNestingLimit {
    static let limit = 100

    /// Whether messages of `descriptor` can nest deeper than `limit` according to the schema.
    static func needsCheck(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Bool {
        var onPath: Set<UnsafePointer<ProtobufCMessageDescriptor>> = []
        return depth(descriptor, &onPath) > limit
    }

    /// The deepest schema nesting below `d` (`Int.max` for recursive types).
    private static func depth(_ d: UnsafePointer<ProtobufCMessageDescriptor>, _ onPath: inout Set<UnsafePointer<ProtobufCMessageDescriptor>>) -> Int {
        if onPath.contains(d) { return Int.max }
        onPath.insert(d)
        defer { onPath.remove(d) }
        var deepest = 0
        for i in 0..<Int(d.pointee.n_fields) {
            let f = d.pointee.fields + i
            guard f.pointee.type == PROTOBUF_C_TYPE_MESSAGE else { continue }
            let sub = depth(messageDescriptor(f), &onPath)
            deepest = max(deepest, sub == Int.max ? Int.max : sub + 1)
            if deepest == Int.max { return deepest }
        }
        return deepest
    }

    /// Whether the encoded message nests at most `limit` levels deep. Malformed input that
    /// this scan cannot follow is let through: protobuf-c rejects it.
    static func isWithinLimit(_ d: UnsafePointer<ProtobufCMessageDescriptor>, _ buffer: UnsafeRawBufferPointer) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        return scan(d, base.assumingMemoryBound(to: UInt8.self), buffer.count, depth: 0)
    }

    private static func scan(_ d: UnsafePointer<ProtobufCMessageDescriptor>, _ p: UnsafePointer<UInt8>, _ count: Int, depth: Int) -> Bool {
        var i = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < count && shift < 64 {
                let byte = p[i]
                i += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while i < count {
            guard let tag = varint() else { return true }
            switch tag & 7 {
            case 0: guard varint() != nil else { return true }
            case 1: i += 8
            case 5: i += 4
            case 2:
                guard let length = varint(), length <= UInt64(count - i) else { return true }
                let start = i
                i += Int(length)
                guard tag >> 3 <= UInt64(UInt32.max),
                      let f = protobuf_c_message_descriptor_get_field(d, UInt32(tag >> 3)),
                      f.pointee.type == PROTOBUF_C_TYPE_MESSAGE
                else { continue }
                guard depth < limit else { return false }
                if !scan(messageDescriptor(f), p + start, Int(length), depth: depth + 1) { return false }
            default: return true
            }
        }
        return true
    }
}
