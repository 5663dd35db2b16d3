internal import CProtobufC

/// The protobuf-c descriptor (`const ProtobufCMessageDescriptor *`) of one message type.
///
/// Generated code obtains it once per type from the protoc-c `xxx__init` function:
///
/// ```swift
/// public static let cDescriptor = ProtoCDescriptor(kato__v2__event__init)
/// ```
///
/// The descriptor is a static, immutable C global, so sharing it across threads is safe.
public struct ProtoCDescriptor: @unchecked Sendable, Hashable {
    /// The real global descriptor (never a copy).
    let pointer: UnsafePointer<ProtobufCMessageDescriptor>
    /// Whether the schema lets messages nest deeper than `ProtoNestingLimit.limit`, so that
    /// input must be scanned before protobuf-c unpacks it recursively.
    let needsNestingCheck: Bool

    /// Reads the descriptor pointer that a protoc-c `xxx__init(Message *)` function stores in
    /// `message->base.descriptor`.
    ///
    /// Taking `&` of an imported C `const` global may yield a pointer to a temporary copy;
    /// calling the initializer once on a scratch struct yields the address the library itself
    /// uses (and that it compares against in nested fields).
    public init<CMessage>(_ initializer: (UnsafeMutablePointer<CMessage>?) -> Void) {
        let scratch = UnsafeMutablePointer<CMessage>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        initializer(scratch)
        let base = UnsafeRawPointer(scratch).load(as: ProtobufCMessage.self)
        guard let descriptor = base.descriptor, descriptor.pointee.magic == UInt32(PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        else { preconditionFailure("protoc-c initializer did not set a message descriptor") }
        self.pointer = descriptor
        self.needsNestingCheck = ProtoNestingLimit.needsCheck(descriptor)
    }

    /// The fully-qualified protobuf name, e.g. `kato.v2.Event`.
    public var protoName: String { String(cString: pointer.pointee.name) }

    /// The number of fields (their descriptors are sorted by field number).
    public var fieldCount: Int { Int(pointer.pointee.n_fields) }

    /// The field numbers in descriptor order, which is the index order generated code uses.
    public var fieldNumbers: [Int32] {
        (0..<fieldCount).map { Int32(bitPattern: pointer.pointee.fields[$0].id) }
    }

    /// The field names in descriptor order.
    public var fieldNames: [String] {
        (0..<fieldCount).map { String(cString: pointer.pointee.fields[$0].name) }
    }
}
