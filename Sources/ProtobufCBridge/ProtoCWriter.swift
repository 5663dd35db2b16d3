// protobuf-c.h is included textually by both CProtobufC and CGRPCProtos; Swift resolves its enum
// constants (PROTOBUF_C_LABEL_*, PROTOBUF_C_TYPE_*, ...) to the CGRPCProtos copy, so import both.
internal import CGRPCProtos
internal import CProtobufC

/// Writes the fields of one protobuf-c message struct, by their index in the descriptor's
/// `fields` array (protoc-c sorts that array by field number).
///
/// Generated `writeProtoC(to:)` methods are the only callers; a writer is valid only inside
/// the `serializedBytes()` call that created it. Every string, byte buffer, array and
/// sub-message struct is copied into that call's arena and freed after
/// `protobuf_c_message_pack`.
///
/// Proto3 defaults (0, `false`, empty string or bytes, empty repeated) are left as
/// `protobuf_c_message_init` set them, which protobuf-c does not put on the wire; inside a
/// oneof the set member is always written, as protobuf requires.
public struct ProtoCWriter {
    let message: UnsafeMutableRawPointer
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    let arena: UnsafeMutablePointer<ProtoArena>

    init(message: UnsafeMutableRawPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>, arena: UnsafeMutablePointer<ProtoArena>) {
        self.message = message
        self.descriptor = descriptor
        self.arena = arena
    }

    /// Allocates a struct for `descriptor` in the arena and runs `protobuf_c_message_init` on it.
    static func newMessage(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, in arena: UnsafeMutablePointer<ProtoArena>) -> ProtoCWriter {
        let p = arena.pointee.allocate(descriptor.pointee.sizeof_message)
        protobuf_c_message_init(descriptor, p)
        return ProtoCWriter(message: p, descriptor: descriptor, arena: arena)
    }

    // MARK: singular scalars

    /// An `int32`, `sint32` or `sfixed32` field.
    public func int32(_ index: Int, _ value: Int32) { store(index, .int32, value) }
    /// An `int64`, `sint64` or `sfixed64` field.
    public func int64(_ index: Int, _ value: Int64) { store(index, .int64, value) }
    /// A `uint32` or `fixed32` field.
    public func uint32(_ index: Int, _ value: UInt32) { store(index, .uint32, value) }
    /// A `uint64` or `fixed64` field.
    public func uint64(_ index: Int, _ value: UInt64) { store(index, .uint64, value) }
    /// A `float` field.
    public func float(_ index: Int, _ value: Float) { store(index, .float, value) }
    /// A `double` field.
    public func double(_ index: Int, _ value: Double) { store(index, .double, value) }
    /// A `bool` field.
    public func bool(_ index: Int, _ value: Bool) { store(index, .bool, Int32(value ? 1 : 0)) }
    /// An enum field (its raw value, so `UNRECOGNIZED` values survive).
    @inlinable
    public func enumValue<E: ProtoEnum>(_ index: Int, _ value: E) { rawEnum(index, value.rawValue) }

    @usableFromInline
    func rawEnum(_ index: Int, _ value: Int32) { store(index, .enum, value) }

    /// A `string` field. protobuf-c strings are NUL-terminated: a string containing U+0000 is
    /// cut at the first NUL.
    public func string(_ index: Int, _ value: String) {
        let f = field(index, .string)
        // An empty proto3 string stays `protobuf_c_empty_string` (not sent), except in a
        // oneof, where protobuf-c skips a member whose pointer is the default one.
        if value.isEmpty && !isOneof(f) { return }
        (message + Int(f.pointee.offset)).storeBytes(of: copyString(value), as: UnsafeMutableRawPointer.self)
    }

    /// A `bytes` field.
    public func bytes(_ index: Int, _ value: [UInt8]) {
        let f = field(index, .bytes)
        if value.isEmpty && !isOneof(f) { return }
        (message + Int(f.pointee.offset)).storeBytes(of: copyBinary(value), as: ProtobufCBinaryData.self)
    }

    /// A singular message field; `nil` leaves it absent.
    @inlinable
    public func message<M: ProtoMessage>(_ index: Int, _ value: M?) {
        guard let value else { return }
        value.writeProtoC(to: submessage(index))
    }

    /// Creates the sub-message of a singular message field (present from now on) and
    /// returns its writer. Wrapper-typed fields write through it: `w.submessage(0).int64(0, v)`.
    public func submessage(_ index: Int) -> ProtoCWriter {
        let f = field(index, .message)
        let sub = ProtoCWriter.newMessage(messageDescriptor(f), in: arena)
        (message + Int(f.pointee.offset)).storeBytes(of: sub.message, as: UnsafeMutableRawPointer.self)
        return sub
    }

    /// Marks the oneof that the field at `index` belongs to as holding that field; write the
    /// member's value with the field's own setter right after.
    public func oneofCase(_ index: Int) {
        let f = field(index, nil)
        assert(isOneof(f), "field \(index) is not in a oneof")
        (message + Int(f.pointee.quantifier_offset)).storeBytes(of: f.pointee.id, as: UInt32.self)
    }

    // MARK: repeated fields

    /// A repeated `int32`, `sint32` or `sfixed32` field.
    public func repeatedInt32(_ index: Int, _ values: [Int32]) { scalars(index, .int32, values) }
    /// A repeated `int64`, `sint64` or `sfixed64` field.
    public func repeatedInt64(_ index: Int, _ values: [Int64]) { scalars(index, .int64, values) }
    /// A repeated `uint32` or `fixed32` field.
    public func repeatedUInt32(_ index: Int, _ values: [UInt32]) { scalars(index, .uint32, values) }
    /// A repeated `uint64` or `fixed64` field.
    public func repeatedUInt64(_ index: Int, _ values: [UInt64]) { scalars(index, .uint64, values) }
    /// A repeated `float` field.
    public func repeatedFloat(_ index: Int, _ values: [Float]) { scalars(index, .float, values) }
    /// A repeated `double` field.
    public func repeatedDouble(_ index: Int, _ values: [Double]) { scalars(index, .double, values) }
    /// A repeated `bool` field.
    public func repeatedBool(_ index: Int, _ values: [Bool]) { scalars(index, .bool, values.map { Int32($0 ? 1 : 0) }) }
    /// A repeated enum field.
    @inlinable
    public func repeatedEnum<E: ProtoEnum>(_ index: Int, _ values: [E]) { rawEnums(index, values.map(\.rawValue)) }

    @usableFromInline
    func rawEnums(_ index: Int, _ values: [Int32]) { scalars(index, .enum, values) }

    /// A repeated `string` field.
    public func repeatedString(_ index: Int, _ values: [String]) {
        guard !values.isEmpty else { return }
        let array = allocateArray(field(index, .string, repeated: true), count: values.count, stride: pointerSize)
        for (j, value) in values.enumerated() {
            array.storeBytes(of: copyString(value), toByteOffset: j &* pointerSize, as: UnsafeMutableRawPointer.self)
        }
    }

    /// A repeated `bytes` field.
    public func repeatedBytes(_ index: Int, _ values: [[UInt8]]) {
        guard !values.isEmpty else { return }
        let stride = MemoryLayout<ProtobufCBinaryData>.stride
        let array = allocateArray(field(index, .bytes, repeated: true), count: values.count, stride: stride)
        for (j, value) in values.enumerated() {
            array.storeBytes(of: copyBinary(value), toByteOffset: j &* stride, as: ProtobufCBinaryData.self)
        }
    }

    /// A repeated message field.
    @inlinable
    public func repeatedMessage<M: ProtoMessage>(_ index: Int, _ values: [M]) {
        guard !values.isEmpty else { return }
        let entries = self.entries(index, count: values.count)
        for j in values.indices { values[j].writeProtoC(to: entries[j]) }
    }

    /// A `map<K, V>` field: one entry message per key (key at index 0, value at index 1),
    /// in ascending key order so that equal maps encode to equal bytes.
    @inlinable
    public func map<K: Hashable & Comparable, V>(_ index: Int, _ values: [K: V], _ entry: (ProtoCWriter, K, V) -> Void) {
        guard !values.isEmpty else { return }
        let entries = self.entries(index, count: values.count)
        if values.count == 1 {
            let only = values.first!
            entry(entries[0], only.key, only.value)
            return
        }
        let sorted = values.sorted { $0.key < $1.key }
        for j in sorted.indices { entry(entries[j], sorted[j].key, sorted[j].value) }
    }

    /// A `map<bool, V>` field (in dictionary order: `Bool` is not `Comparable`).
    @inlinable
    public func map<V>(_ index: Int, _ values: [Bool: V], _ entry: (ProtoCWriter, Bool, V) -> Void) {
        guard !values.isEmpty else { return }
        let entries = self.entries(index, count: values.count)
        var j = 0
        for key in [false, true] {
            guard let value = values[key] else { continue }
            entry(entries[j], key, value)
            j += 1
        }
    }

    // MARK: internals

    private var pointerSize: Int { MemoryLayout<UnsafeRawPointer>.stride }

    /// The entries of a repeated message field (or map): subscript `j` creates entry `j`
    /// (each exactly once) and returns its writer.
    @usableFromInline
    struct Entries {
        let array: UnsafeMutableRawPointer
        let descriptor: UnsafePointer<ProtobufCMessageDescriptor>
        let arena: UnsafeMutablePointer<ProtoArena>
        let count: Int

        @usableFromInline
        subscript(j: Int) -> ProtoCWriter {
            precondition(j >= 0 && j < count)
            let entry = ProtoCWriter.newMessage(descriptor, in: arena)
            array.storeBytes(of: entry.message, toByteOffset: j &* MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeMutableRawPointer.self)
            return entry
        }
    }

    /// Allocates the pointer array of `count` entries of a repeated message field.
    @usableFromInline
    func entries(_ index: Int, count: Int) -> Entries {
        let f = field(index, .message, repeated: true)
        let array = allocateArray(f, count: count, stride: pointerSize)
        return Entries(array: array, descriptor: messageDescriptor(f), arena: arena, count: count)
    }

    private func store<T>(_ index: Int, _ kind: ProtoCFieldKind, _ value: T) {
        let f = field(index, kind)
        (message + Int(f.pointee.offset)).storeBytes(of: value, as: T.self)
        if f.pointee.label == PROTOBUF_C_LABEL_OPTIONAL {  // proto2 / proto3 `optional`: has_ flag
            (message + Int(f.pointee.quantifier_offset)).storeBytes(of: Int32(1), as: Int32.self)
        }
    }

    private func scalars<T>(_ index: Int, _ kind: ProtoCFieldKind, _ values: [T]) {
        guard !values.isEmpty else { return }
        let stride = MemoryLayout<T>.stride
        let array = allocateArray(field(index, kind, repeated: true), count: values.count, stride: stride)
        values.withUnsafeBytes { array.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    private func allocateArray(_ f: UnsafePointer<ProtobufCFieldDescriptor>, count: Int, stride: Int) -> UnsafeMutableRawPointer {
        let array = arena.pointee.allocate(count &* stride)
        (message + Int(f.pointee.quantifier_offset)).storeBytes(of: count, as: Int.self)
        (message + Int(f.pointee.offset)).storeBytes(of: array, as: UnsafeMutableRawPointer.self)
        return array
    }

    private func copyString(_ value: String) -> UnsafeMutableRawPointer {
        var value = value
        return value.withUTF8 { utf8 in
            let p = arena.pointee.allocate(utf8.count &+ 1)
            if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
            p.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return p
        }
    }

    private func copyBinary(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let p = arena.pointee.allocate(value.count)
        value.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: value.count, data: p.assumingMemoryBound(to: UInt8.self))
    }

    private func isOneof(_ f: UnsafePointer<ProtobufCFieldDescriptor>) -> Bool {
        f.pointee.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0
    }

    private func field(_ index: Int, _ kind: ProtoCFieldKind?, repeated: Bool = false) -> UnsafePointer<ProtobufCFieldDescriptor> {
        assert(index >= 0 && index < Int(descriptor.pointee.n_fields), "field index \(index) out of range")
        let f = descriptor.pointee.fields + index
        assert(kind.map { $0.matches(f.pointee.type) } ?? true, "field \(index) of \(String(cString: descriptor.pointee.name)) is not \(kind!)")
        assert(kind == nil || (f.pointee.label == PROTOBUF_C_LABEL_REPEATED) == repeated, "field \(index): repeated mismatch")
        return f
    }
}
