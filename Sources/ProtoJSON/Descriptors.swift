/// A descriptor model read from serialized `google.protobuf.FileDescriptorProto`s (what
/// server reflection returns): enough of descriptor.proto for the dynamic codec and for
/// printing proto source in `kato describe`.

/// `FieldDescriptorProto.Type`.
enum FieldType: Int, Sendable {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
        uint32, enumeration, sfixed32, sfixed64, sint32, sint64

    /// The proto source keyword of a scalar type.
    var keyword: String {
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
    var isPackable: Bool {
        switch self {
        case .string, .bytes, .message, .group: false
        default: true
        }
    }

    /// The wire type of one unpacked value.
    var wireType: WireType {
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
enum FieldLabel: Int, Sendable {
    case optional = 1, required, repeated
}

struct FieldDescriptor: Sendable {
    var name = ""
    var number = 0
    var label = FieldLabel.optional
    var type = FieldType.int32
    /// Fully-qualified message or enum name, without the leading dot.
    var typeName = ""
    var jsonName = ""
    var hasExplicitJSONName = false
    var oneofIndex: Int?
    var proto3Optional = false
    var defaultValue: String?
    var packed: Bool?
    var deprecated = false
    /// Path of this field in its file's source_code_info.
    var path: [Int32] = []

    var isRepeated: Bool { label == .repeated }
}

struct OneofDescriptor: Sendable {
    var name: String
    var path: [Int32]
    /// A proto3 `optional` field's implicit oneof.
    var isSynthetic = false
}

struct MessageDescriptor: Sendable {
    var fullName = ""
    var name = ""
    var file = ""
    var path: [Int32] = []
    var fields: [FieldDescriptor] = []
    var oneofs: [OneofDescriptor] = []
    var nestedMessages: [String] = []
    var nestedEnums: [String] = []
    var isMapEntry = false
    var deprecated = false
    var extensionRanges: [(start: Int, end: Int)] = []
    /// Reserved ranges, end exclusive (as in DescriptorProto).
    var reservedRanges: [(start: Int, end: Int)] = []
    var reservedNames: [String] = []

    func field(number: Int) -> FieldDescriptor? { fields.first { $0.number == number } }

    /// A field by its JSON name or its proto name (what proto3 JSON accepts on input).
    func field(jsonKey: String) -> FieldDescriptor? {
        fields.first { $0.jsonName == jsonKey } ?? fields.first { $0.name == jsonKey }
    }
}

struct EnumValueDescriptor: Sendable {
    var name: String
    var number: Int32
    var deprecated = false
    var path: [Int32]
}

struct EnumDescriptor: Sendable {
    var fullName = ""
    var name = ""
    var file = ""
    var path: [Int32] = []
    var values: [EnumValueDescriptor] = []
    var allowAlias = false
    var deprecated = false
    /// Reserved ranges, end inclusive (as in EnumDescriptorProto).
    var reservedRanges: [(start: Int, end: Int)] = []
    var reservedNames: [String] = []

    func value(named name: String) -> EnumValueDescriptor? { values.first { $0.name == name } }
    func value(number: Int32) -> EnumValueDescriptor? { values.first { $0.number == number } }
}

struct MethodDescriptor: Sendable {
    var name = ""
    var fullName = ""
    var inputType = ""
    var outputType = ""
    var clientStreaming = false
    var serverStreaming = false
    var deprecated = false
    var path: [Int32] = []

    /// The `:path` of the call, `/pkg.Service/Method`.
    var callPath: String {
        let dot = fullName.lastIndex(of: ".")!
        return "/\(fullName[..<dot])/\(fullName[fullName.index(after: dot)...])"
    }
}

struct ServiceDescriptor: Sendable {
    var fullName = ""
    var name = ""
    var file = ""
    var path: [Int32] = []
    var methods: [MethodDescriptor] = []
    var deprecated = false
}

/// Comments attached to one element in source_code_info.
struct SourceComments: Sendable {
    var leading: String?
    var trailing: String?
}

struct FileDescriptor: Sendable {
    var name = ""
    var package = ""
    var dependencies: [String] = []
    var syntax = "proto2"
    var messages: [String] = []
    var enums: [String] = []
    var services: [String] = []
    var comments: [[Int32]: SourceComments] = [:]
    var serialized: [UInt8] = []
}

/// Lower camel case, as protoc derives `json_name` from a field name.
func defaultJSONName(_ name: String) -> String {
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
