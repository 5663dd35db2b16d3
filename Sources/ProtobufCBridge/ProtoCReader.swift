// protobuf-c.h is included textually by both CProtobufC and CGRPCProtos; Swift resolves its enum
// constants (PROTOBUF_C_LABEL_*, PROTOBUF_C_TYPE_*, ...) to the CGRPCProtos copy, so import both.
internal import CGRPCProtos
internal import CProtobufC

/// Reads the fields of one unpacked protobuf-c message struct, by their index in the
/// descriptor's `fields` array (protoc-c sorts that array by field number).
///
/// Generated `init(protoC:)` initialisers are the only callers; a reader is valid only inside
/// the `init(serializedBytes:)` call that created it. Every read copies into Swift values, so
/// nothing escapes the arena the C struct lives in.
public struct ProtoCReader {
    let message: UnsafeRawPointer
    let descriptor: UnsafePointer<ProtobufCMessageDescriptor>

    init(message: UnsafeRawPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) {
        self.message = message
        self.descriptor = descriptor
    }

    // MARK: singular scalars (proto3: label NONE, value stored inline)

    /// An `int32`, `sint32` or `sfixed32` field.
    public func int32(_ index: Int) -> Int32 { value(index, .int32, as: Int32.self) }
    /// An `int64`, `sint64` or `sfixed64` field.
    public func int64(_ index: Int) -> Int64 { value(index, .int64, as: Int64.self) }
    /// A `uint32` or `fixed32` field.
    public func uint32(_ index: Int) -> UInt32 { value(index, .uint32, as: UInt32.self) }
    /// A `uint64` or `fixed64` field.
    public func uint64(_ index: Int) -> UInt64 { value(index, .uint64, as: UInt64.self) }
    /// A `float` field.
    public func float(_ index: Int) -> Float { value(index, .float, as: Float.self) }
    /// A `double` field.
    public func double(_ index: Int) -> Double { value(index, .double, as: Double.self) }
    /// A `bool` field (`protobuf_c_boolean`, a C `int`).
    public func bool(_ index: Int) -> Bool { value(index, .bool, as: Int32.self) != 0 }
    /// An enum field; unknown values become `E.UNRECOGNIZED`.
    @inlinable
    public func enumValue<E: ProtoEnum>(_ index: Int, as type: E.Type = E.self) -> E {
        E(rawValue: rawEnum(index))
    }

    @usableFromInline
    func rawEnum(_ index: Int) -> Int32 { value(index, .enum, as: Int32.self) }

    /// A `string` field.
    /// - Throws: `ProtoDecodingError` when the string is not valid UTF-8 (protobuf-c 1.4.1
    ///   does not check; proto3 requires it).
    public func string(_ index: Int) throws(ProtoDecodingError) -> String {
        let f = field(index, .string)
        let p = (message + Int(f.pointee.offset)).load(as: UnsafePointer<CChar>?.self)
        return try cString(p, f)
    }

    /// A `bytes` field.
    public func bytes(_ index: Int) -> [UInt8] {
        let f = field(index, .bytes)
        return binary((message + Int(f.pointee.offset)).load(as: ProtobufCBinaryData.self))
    }

    /// The reader of a singular message field, or `nil` when the field is absent.
    ///
    /// Wrapper-typed fields read through it: `r.submessage(0)?.int64(0)`.
    public func submessage(_ index: Int) -> ProtoCReader? {
        let f = field(index, .message)
        guard let p = (message + Int(f.pointee.offset)).load(as: UnsafeRawPointer?.self) else { return nil }
        return ProtoCReader(message: p, descriptor: messageDescriptor(f))
    }

    /// A singular message field, or `nil` when it is absent.
    @inlinable
    public func message<M: ProtoMessage>(_ index: Int, as type: M.Type = M.self) throws(ProtoDecodingError) -> M? {
        guard let sub = submessage(index) else { return nil }
        return try M(protoC: sub)
    }

    /// The field number of the member set in the oneof that the field at `index` belongs to
    /// (0 when none is set).
    public func oneofCase(_ index: Int) -> Int32 {
        let f = field(index, nil)
        assert(f.pointee.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0, "field \(index) is not in a oneof")
        return (message + Int(f.pointee.quantifier_offset)).load(as: Int32.self)
    }

    // MARK: repeated fields (count at quantifier_offset, array pointer at offset)

    /// A repeated `int32`, `sint32` or `sfixed32` field.
    public func repeatedInt32(_ index: Int) -> [Int32] { scalars(index, .int32, as: Int32.self) }
    /// A repeated `int64`, `sint64` or `sfixed64` field.
    public func repeatedInt64(_ index: Int) -> [Int64] { scalars(index, .int64, as: Int64.self) }
    /// A repeated `uint32` or `fixed32` field.
    public func repeatedUInt32(_ index: Int) -> [UInt32] { scalars(index, .uint32, as: UInt32.self) }
    /// A repeated `uint64` or `fixed64` field.
    public func repeatedUInt64(_ index: Int) -> [UInt64] { scalars(index, .uint64, as: UInt64.self) }
    /// A repeated `float` field.
    public func repeatedFloat(_ index: Int) -> [Float] { scalars(index, .float, as: Float.self) }
    /// A repeated `double` field.
    public func repeatedDouble(_ index: Int) -> [Double] { scalars(index, .double, as: Double.self) }
    /// A repeated `bool` field.
    public func repeatedBool(_ index: Int) -> [Bool] { scalars(index, .bool, as: Int32.self).map { $0 != 0 } }
    /// A repeated enum field.
    @inlinable
    public func repeatedEnum<E: ProtoEnum>(_ index: Int, as type: E.Type = E.self) -> [E] {
        rawEnums(index).map(E.init(rawValue:))
    }

    @usableFromInline
    func rawEnums(_ index: Int) -> [Int32] { scalars(index, .enum, as: Int32.self) }

    /// A repeated `string` field.
    public func repeatedString(_ index: Int) throws(ProtoDecodingError) -> [String] {
        let f = field(index, .string, repeated: true)
        let (count, array) = repeatedStorage(f)
        var result: [String] = []
        result.reserveCapacity(count)
        for j in 0..<count {
            result.append(try cString(array!.load(fromByteOffset: j &* pointerSize, as: UnsafePointer<CChar>?.self), f))
        }
        return result
    }

    /// A repeated `bytes` field.
    public func repeatedBytes(_ index: Int) -> [[UInt8]] {
        let f = field(index, .bytes, repeated: true)
        let (count, array) = repeatedStorage(f)
        let stride = MemoryLayout<ProtobufCBinaryData>.stride
        return (0..<count).map { binary(array!.load(fromByteOffset: $0 &* stride, as: ProtobufCBinaryData.self)) }
    }

    /// A repeated message field.
    @inlinable
    public func repeatedMessage<M: ProtoMessage>(_ index: Int, as type: M.Type = M.self) throws(ProtoDecodingError) -> [M] {
        let entries = self.entries(index)
        var result: [M] = []
        result.reserveCapacity(entries.count)
        for j in 0..<entries.count { result.append(try M(protoC: entries[j])) }
        return result
    }

    /// A `map<K, V>` field (protobuf-c: repeated entry messages with `key` at index 0 and
    /// `value` at index 1). A repeated key keeps its last value, as protobuf requires.
    @inlinable
    public func map<K: Hashable, V>(
        _ index: Int,
        _ entry: (ProtoCReader) throws(ProtoDecodingError) -> (K, V)
    ) throws(ProtoDecodingError) -> [K: V] {
        let entries = self.entries(index)
        var result: [K: V] = Dictionary(minimumCapacity: entries.count)
        for j in 0..<entries.count {
            let (key, value) = try entry(entries[j])
            result[key] = value
        }
        return result
    }

    /// The entries of a repeated message field (or map), readable one by one.
    @usableFromInline
    struct Entries {
        @usableFromInline let count: Int
        let array: UnsafeRawPointer?
        let descriptor: UnsafePointer<ProtobufCMessageDescriptor>

        @usableFromInline
        subscript(j: Int) -> ProtoCReader {
            precondition(j >= 0 && j < count)
            let p = array!.load(fromByteOffset: j &* MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeRawPointer.self)
            return ProtoCReader(message: p, descriptor: descriptor)
        }
    }

    @usableFromInline
    func entries(_ index: Int) -> Entries {
        let f = field(index, .message, repeated: true)
        let (count, array) = repeatedStorage(f)
        return Entries(count: array == nil ? 0 : count, array: array, descriptor: messageDescriptor(f))
    }

    // MARK: internals

    private var pointerSize: Int { MemoryLayout<UnsafeRawPointer>.stride }

    private func value<T>(_ index: Int, _ kind: ProtoCFieldKind, as type: T.Type) -> T {
        let f = field(index, kind)
        return (message + Int(f.pointee.offset)).load(as: T.self)
    }

    private func scalars<T>(_ index: Int, _ kind: ProtoCFieldKind, as type: T.Type) -> [T] {
        let (count, array) = repeatedStorage(field(index, kind, repeated: true))
        guard count > 0, let array else { return [] }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
                from: UnsafeRawBufferPointer(start: array, count: count &* MemoryLayout<T>.stride)
            )
            initialized = count
        }
    }

    private func repeatedStorage(_ f: UnsafePointer<ProtobufCFieldDescriptor>) -> (Int, UnsafeRawPointer?) {
        let count = (message + Int(f.pointee.quantifier_offset)).load(as: Int.self)
        return (count, (message + Int(f.pointee.offset)).load(as: UnsafeRawPointer?.self))
    }

    private func cString(_ p: UnsafePointer<CChar>?, _ f: UnsafePointer<ProtobufCFieldDescriptor>) throws(ProtoDecodingError) -> String {
        guard let p, p.pointee != 0 else { return "" }
        guard let s = String(validatingCString: p) else {
            throw ProtoDecodingError(
                messageName: String(cString: descriptor.pointee.name),
                reason: "invalid UTF-8 in string field '\(String(cString: f.pointee.name))'"
            )
        }
        return s
    }

    private func binary(_ b: ProtobufCBinaryData) -> [UInt8] {
        guard b.len > 0, let data = b.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: b.len))
    }

    private func field(_ index: Int, _ kind: ProtoCFieldKind?, repeated: Bool = false) -> UnsafePointer<ProtobufCFieldDescriptor> {
        assert(index >= 0 && index < Int(descriptor.pointee.n_fields), "field index \(index) out of range")
        let f = descriptor.pointee.fields + index
        assert(kind.map { $0.matches(f.pointee.type) } ?? true, "field \(index) of \(String(cString: descriptor.pointee.name)) is not \(kind!)")
        assert(kind == nil || (f.pointee.label == PROTOBUF_C_LABEL_REPEATED) == repeated, "field \(index): repeated mismatch")
        return f
    }
}

func messageDescriptor(_ f: UnsafePointer<ProtobufCFieldDescriptor>) -> UnsafePointer<ProtobufCMessageDescriptor> {
    f.pointee.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
}

/// The Swift-side grouping of protobuf-c field types (for debug checks of generated code).
enum ProtoCFieldKind {
    case int32, int64, uint32, uint64, float, double, bool, `enum`, string, bytes, message

    func matches(_ type: ProtobufCType) -> Bool {
        switch self {
        case .int32: type == PROTOBUF_C_TYPE_INT32 || type == PROTOBUF_C_TYPE_SINT32 || type == PROTOBUF_C_TYPE_SFIXED32
        case .int64: type == PROTOBUF_C_TYPE_INT64 || type == PROTOBUF_C_TYPE_SINT64 || type == PROTOBUF_C_TYPE_SFIXED64
        case .uint32: type == PROTOBUF_C_TYPE_UINT32 || type == PROTOBUF_C_TYPE_FIXED32
        case .uint64: type == PROTOBUF_C_TYPE_UINT64 || type == PROTOBUF_C_TYPE_FIXED64
        case .float: type == PROTOBUF_C_TYPE_FLOAT
        case .double: type == PROTOBUF_C_TYPE_DOUBLE
        case .bool: type == PROTOBUF_C_TYPE_BOOL
        case .enum: type == PROTOBUF_C_TYPE_ENUM
        case .string: type == PROTOBUF_C_TYPE_STRING
        case .bytes: type == PROTOBUF_C_TYPE_BYTES
        case .message: type == PROTOBUF_C_TYPE_MESSAGE
        }
    }
}
