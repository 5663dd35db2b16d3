import ProtoWire
import StrictJSON

/// A descriptor model read from serialized `google.protobuf.FileDescriptorProto`s (what
/// server reflection returns): enough of descriptor.proto for the dynamic codec and for
/// printing proto source in `kato describe`.

/// `FieldDescriptorProto.Type`.
public enum FieldType: Int, Sendable {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
        uint32, enumeration, sfixed32, sfixed64, sint32, sint64

    /// The proto source keyword of a scalar type.
    public var keyword: String {
        switch self {
        case .double: "double"
        case .float: "float"
        case .int64: "int64"
        case .uint64: "uint64"
        case .int32: "int32"
        case .fixed64: "fixed64"
        case .fixed32: "fixed32"
        case .bool: "bool"
        case .string: "string"
        case .group: "group"
        case .message: "message"
        case .bytes: "bytes"
        case .uint32: "uint32"
        case .enumeration: "enum"
        case .sfixed32: "sfixed32"
        case .sfixed64: "sfixed64"
        case .sint32: "sint32"
        case .sint64: "sint64"
        }
    }

    /// Whether repeated fields of this type may be packed.
    public var isPackable: Bool {
        switch self {
        case .string, .bytes, .message, .group: false
        default: true
        }
    }

    /// The wire type of one unpacked value.
    public var wireType: WireType {
        switch self {
        case .double, .fixed64, .sfixed64: .fixed64
        case .float, .fixed32, .sfixed32: .fixed32
        case .string, .bytes, .message: .lengthDelimited
        case .group: .startGroup
        default: .varint
        }
    }
}

/// `FieldDescriptorProto.Label`.
public enum FieldLabel: Int, Sendable {
    case optional = 1, required, repeated
}

public struct FieldDescriptor: Sendable {
    public var name = ""
    public var number = 0
    public var label = FieldLabel.optional
    public var type = FieldType.int32
    /// Fully-qualified message or enum name, without the leading dot.
    public var typeName = ""
    public var jsonName = ""
    public var hasExplicitJSONName = false
    public var oneofIndex: Int?
    public var proto3Optional = false
    public var defaultValue: String?
    public var packed: Bool?
    public var deprecated = false
    /// Path of this field in its file's source_code_info.
    public var path: [Int32] = []

    public var isRepeated: Bool { label == .repeated }
}

public struct OneofDescriptor: Sendable {
    public var name: String
    public var path: [Int32]
    /// A proto3 `optional` field's implicit oneof.
    public var isSynthetic = false
}

public struct MessageDescriptor: Sendable {
    public var fullName = ""
    public var name = ""
    public var file = ""
    public var path: [Int32] = []
    public var fields: [FieldDescriptor] = []
    public var oneofs: [OneofDescriptor] = []
    public var nestedMessages: [String] = []
    public var nestedEnums: [String] = []
    public var isMapEntry = false
    public var deprecated = false
    public var extensionRanges: [(start: Int, end: Int)] = []
    /// Reserved ranges, end exclusive (as in DescriptorProto).
    public var reservedRanges: [(start: Int, end: Int)] = []
    public var reservedNames: [String] = []

    /// Set by the pool when it indexes the message (so that the codec's per-message work
    /// is array indexing, not name comparisons).
    public internal(set) var wellKnownType: WellKnownType?
    public internal(set) var isProto2 = false
    /// Indices into `fields`, by ascending field number (the order JSON prints them in).
    public internal(set) var numberOrder: [Int] = []
    /// Field number → index into `fields`, for numbers below 1024; larger ones are searched.
    var indexByNumber: [Int32] = []

    public func field(number: Int) -> FieldDescriptor? { fieldIndex(number: number).map { fields[$0] } }

    /// The index into `fields` of the field with this number.
    public func fieldIndex(number: Int) -> Int? {
        if number >= 0, number < indexByNumber.count {
            let i = indexByNumber[number]
            return i < 0 ? nil : Int(i)
        }
        return fields.firstIndex { $0.number == number }
    }

    /// Fills the derived lookups above from `fields`, `fullName` and the file's syntax.
    mutating func index(syntax: String) {
        wellKnownType = WellKnownType(rawValue: fullName)
        isProto2 = syntax == "proto2"
        numberOrder = fields.indices.sorted { fields[$0].number < fields[$1].number }
        let small = fields.map(\.number).filter { $0 >= 0 && $0 < 1024 }
        indexByNumber = [Int32](repeating: -1, count: (small.max() ?? -1) + 1)
        for (i, f) in fields.enumerated() where f.number >= 0 && f.number < 1024 && indexByNumber[f.number] < 0 {
            indexByNumber[f.number] = Int32(i)
        }
    }

    /// A field by its JSON name or its proto name (what proto3 JSON accepts on input).
    public func field(jsonKey: String) -> FieldDescriptor? {
        fields.first { $0.jsonName == jsonKey } ?? fields.first { $0.name == jsonKey }
    }
}

public struct EnumValueDescriptor: Sendable {
    public var name: String
    public var number: Int32
    public var deprecated = false
    public var path: [Int32]
}

public struct EnumDescriptor: Sendable {
    public var fullName = ""
    public var name = ""
    public var file = ""
    public var path: [Int32] = []
    public var values: [EnumValueDescriptor] = []
    public var allowAlias = false
    public var deprecated = false
    /// Reserved ranges, end inclusive (as in EnumDescriptorProto).
    public var reservedRanges: [(start: Int, end: Int)] = []
    public var reservedNames: [String] = []

    public func value(named name: String) -> EnumValueDescriptor? { values.first { $0.name == name } }
    public func value(number: Int32) -> EnumValueDescriptor? { values.first { $0.number == number } }
}

public struct MethodDescriptor: Sendable {
    public var name = ""
    public var fullName = ""
    public var inputType = ""
    public var outputType = ""
    public var clientStreaming = false
    public var serverStreaming = false
    public var deprecated = false
    /// `option idempotency_level` (MethodOptions field 34): 0 unknown, 1 `NO_SIDE_EFFECTS`, 2 `IDEMPOTENT`.
    public var idempotencyLevel = 0
    public var path: [Int32] = []

    /// Declared side-effect free (`idempotency_level = NO_SIDE_EFFECTS`): Connect lets clients call it with GET.
    public var hasNoSideEffects: Bool { idempotencyLevel == 1 }

    /// The `:path` of the call, `/pkg.Service/Method`.
    public var callPath: String {
        let dot = fullName.lastIndex(of: ".")!
        return "/\(fullName[..<dot])/\(fullName[fullName.index(after: dot)...])"
    }
}

public struct ServiceDescriptor: Sendable {
    public var fullName = ""
    public var name = ""
    public var file = ""
    public var path: [Int32] = []
    public var methods: [MethodDescriptor] = []
    public var deprecated = false
}

/// Comments attached to one element in source_code_info.
public struct SourceComments: Sendable {
    public var leading: String?
    public var trailing: String?
}

public struct FileDescriptor: Sendable {
    public var name = ""
    public var package = ""
    public var dependencies: [String] = []
    public var syntax = "proto2"
    public var messages: [String] = []
    public var enums: [String] = []
    public var services: [String] = []
    public var comments: [[Int32]: SourceComments] = [:]
    public var serialized: [UInt8] = []
}

/// Lower camel case, as protoc derives `json_name` from a field name.
public func defaultJSONName(_ name: String) -> String {
    var result = ""
    var upperNext = false
    for c in name {
        if c == "_" {
            upperNext = true
        } else if upperNext {
            result.append(contentsOf: c.uppercased())
            upperNext = false
        } else {
            result.append(c)
        }
    }
    return result
}
