import ProtoWire
import StrictJSON

/// proto3 JSON → protobuf wire bytes, driven by descriptors from a `DescriptorPool`.
///
/// Accepts each field by its JSON name or its proto name, integers as numbers or strings,
/// floats as numbers or "NaN"/"Infinity"/"-Infinity", enums by name or number, bytes as
/// standard or URL-safe base64, and the special forms of the well-known types. Unknown
/// fields and wrongly typed values are errors that name the field; with
/// `ignoreUnknownFields` (protobuf's `ignore_unknown_fields`, Connect's DiscardUnknown)
/// unknown members and unknown enum names are skipped instead.
public struct JSONToProto: Sendable {
    public let pool: DescriptorPool
    public var ignoreUnknownFields: Bool

    public init(pool: DescriptorPool, ignoreUnknownFields: Bool = false) {
        self.pool = pool
        self.ignoreUnknownFields = ignoreUnknownFields
    }

    /// Encodes `json` as a message of type `typeName`.
    /// - Throws: `CodecError` for input that does not fit, `MissingDescriptor` when a type
    ///   (a field's, or an Any's `@type`) is not in the pool yet.
    public func encode(_ json: JSONValue, as typeName: String) throws -> [UInt8] {
        try encodeMessage(json, try pool.message(typeName), path: FieldPath())
    }

    public func encodeMessage(_ json: JSONValue, _ message: MessageDescriptor, path: FieldPath) throws -> [UInt8] {
        if let wkt = message.wellKnownType {
            return try encodeWellKnown(wkt, json, message, path: path)
        }
        guard case .object(let members) = json else {
            throw CodecError(.wrongType, at: path, "expected a JSON object for \(message.fullName), got \(json.kind)")
        }
        var entries: [(FieldDescriptor, JSONValue)] = []
        var seenFields: [Int: String] = [:]
        var seenOneofs: [Int: String] = [:]
        for (key, value) in members {
            guard let field = message.field(jsonKey: key) else {
                if ignoreUnknownFields { continue }
                throw CodecError(.unknownField, at: path, "message type \(message.fullName) has no known field named \(JSONPrinter.quote(key))")
            }
            if let other = seenFields[field.number] {
                throw CodecError(.duplicateField, at: path, "field \(field.name) of \(message.fullName) is set twice (as \(JSONPrinter.quote(other)) and \(JSONPrinter.quote(key)))")
            }
            seenFields[field.number] = key
            if case .null = value, !acceptsNull(field) { continue }
            if ignoreUnknownFields, isUnknownEnumName(value, field) { continue }
            if let o = field.oneofIndex, message.oneofs.indices.contains(o), !message.oneofs[o].isSynthetic {
                if let other = seenOneofs[o] {
                    throw CodecError(.duplicateField, at: path, "oneof \(message.oneofs[o].name) of \(message.fullName) has more than one value (\(other) and \(key))")
                }
                seenOneofs[o] = key
            }
            entries.append((field, value))
        }
        entries.sort { $0.0.number < $1.0.number }
        let proto3 = !message.isProto2
        var writer = WireWriter()
        for (field, value) in entries {
            try encodeField(field, value, in: message, proto3: proto3, into: &writer, path: path.appending(field: field.jsonName))
        }
        return writer.bytes
    }

    /// An enum name the enum does not declare (skipped, like an unknown field, when ignoring
    /// unknown fields; inside a list only that element is skipped).
    private func isUnknownEnumName(_ value: JSONValue, _ field: FieldDescriptor) -> Bool {
        guard field.type == .enumeration, case .string(let name) = value, let e = try? pool.enumeration(field.typeName) else { return false }
        return e.value(named: name) == nil
    }

    /// Only `google.protobuf.Value` and `NullValue` fields take JSON null as a value; for every
    /// other field null means "not set".
    private func acceptsNull(_ field: FieldDescriptor) -> Bool {
        guard !field.isRepeated else { return false }
        return field.typeName == WellKnownType.value.rawValue || field.typeName == "google.protobuf.NullValue"
    }

    private func encodeField(_ field: FieldDescriptor, _ value: JSONValue, in message: MessageDescriptor, proto3: Bool,
                             into writer: inout WireWriter, path: FieldPath) throws {
        if field.isRepeated, field.type == .message, let entry = try? pool.message(field.typeName), entry.isMapEntry {
            guard case .object(let members) = value else { throw CodecError(.wrongType, at: path, "expected a JSON object for a map, got \(value.kind)") }
            guard let keyField = entry.field(number: 1), let valueField = entry.field(number: 2) else {
                throw CodecError(.unknownType, at: path, "malformed map entry type \(entry.fullName)")
            }
            for (key, item) in members {
                let itemPath = path.appending(key: key)
                if case .null = item, !acceptsNull(valueField) { throw CodecError(.wrongType, at: itemPath, "map values cannot be null") }
                var entryWriter = WireWriter()
                try writeValue(keyField, try mapKey(key, keyField.type, path: itemPath), into: &entryWriter, path: itemPath)
                try writeValue(valueField, item, into: &entryWriter, path: itemPath)
                writer.tag(field.number, .lengthDelimited)
                writer.lengthDelimited(entryWriter.bytes)
            }
            return
        }
        if field.isRepeated {
            guard case .array(var items) = value else { throw CodecError(.wrongType, at: path, "expected a JSON array for repeated field \(field.name), got \(value.kind)") }
            if ignoreUnknownFields, field.type == .enumeration { items.removeAll { isUnknownEnumName($0, field) } }
            for (i, item) in items.enumerated() where item == .null && !(field.typeName == WellKnownType.value.rawValue) {
                throw CodecError(.wrongType, at: path.appending(index: i), "repeated values cannot be null")
            }
            if field.type.isPackable, field.packed ?? proto3, !items.isEmpty {
                var packed = WireWriter()
                for (i, item) in items.enumerated() {
                    try writeRaw(field, item, into: &packed, path: path.appending(index: i))
                }
                writer.tag(field.number, .lengthDelimited)
                writer.lengthDelimited(packed.bytes)
            } else {
                for (i, item) in items.enumerated() {
                    try writeValue(field, item, into: &writer, path: path.appending(index: i))
                }
            }
            return
        }
        let hasPresence = field.type == .message || field.type == .group || field.oneofIndex != nil || field.proto3Optional || !proto3
        let start = writer.count
        try writeValue(field, value, into: &writer, path: path)
        // Implicit presence: a default value (all-zero payload) is not written, as protobuf
        // encoders do; the tag is one byte for these fields' numbers below 16, more above.
        if !hasPresence, writer.bytes[(start + Varint.encodedLength(UInt64(field.number) << 3))...].allSatisfy({ $0 == 0 }) {
            writer.truncate(to: start)
        }
    }

    /// A map key from its JSON object key string.
    private func mapKey(_ key: String, _ type: FieldType, path: FieldPath) throws -> JSONValue {
        switch type {
        case .string: return .string(key)
        case .bool:
            guard key == "true" || key == "false" else { throw CodecError(.invalidValue, at: path, "map key \(JSONPrinter.quote(key)) is not a bool") }
            return .bool(key == "true")
        default: return .string(key)
        }
    }

    /// Writes tag and value.
    public func writeValue(_ field: FieldDescriptor, _ value: JSONValue, into writer: inout WireWriter, path: FieldPath) throws {
        if field.type == .group {
            writer.tag(field.number, .startGroup)
            writer.append(try encodeMessage(value, try pool.message(field.typeName), path: path))
            writer.tag(field.number, .endGroup)
            return
        }
        writer.tag(field.number, field.type.wireType)
        try writeRaw(field, value, into: &writer, path: path)
    }

    /// Writes the value without a tag (also the element form inside packed fields).
    public func writeRaw(_ field: FieldDescriptor, _ value: JSONValue, into writer: inout WireWriter, path: FieldPath) throws {
        do {
            switch field.type {
            case .int32: writer.varint(UInt64(bitPattern: try ScalarFormats.signed(value, bits: 32)))
            case .int64: writer.varint(UInt64(bitPattern: try ScalarFormats.signed(value, bits: 64)))
            case .sint32: writer.varint(ZigZag.encode(try ScalarFormats.signed(value, bits: 32)))
            case .sint64: writer.varint(ZigZag.encode(try ScalarFormats.signed(value, bits: 64)))
            case .uint32: writer.varint(try ScalarFormats.unsigned(value, bits: 32))
            case .uint64: writer.varint(try ScalarFormats.unsigned(value, bits: 64))
            case .fixed32: writer.fixed32(UInt32(try ScalarFormats.unsigned(value, bits: 32)))
            case .fixed64: writer.fixed64(try ScalarFormats.unsigned(value, bits: 64))
            case .sfixed32: writer.fixed32(UInt32(bitPattern: Int32(try ScalarFormats.signed(value, bits: 32))))
            case .sfixed64: writer.fixed64(UInt64(bitPattern: try ScalarFormats.signed(value, bits: 64)))
            case .double: writer.fixed64(try ScalarFormats.double(value).bitPattern)
            case .float: writer.fixed32(try ScalarFormats.float(value).bitPattern)
            case .bool:
                guard case .bool(let b) = value else { throw CodecError(.wrongType, "expected true or false, got \(value.kind) \(JSONPrinter().print(value))") }
                writer.varint(b ? 1 : 0)
            case .string:
                guard case .string(let s) = value else { throw CodecError(.wrongType, "expected a string, got \(value.kind) \(JSONPrinter().print(value))") }
                writer.lengthDelimited(Array(s.utf8))
            case .bytes:
                writer.lengthDelimited(try ScalarFormats.bytes(value))
            case .enumeration:
                writer.varint(UInt64(bitPattern: Int64(try enumNumber(value, field.typeName))))
            case .message:
                writer.lengthDelimited(try encodeMessage(value, try pool.message(field.typeName), path: path))
            case .group:
                writer.append(try encodeMessage(value, try pool.message(field.typeName), path: path))
            }
        } catch let error as CodecError where error.path == nil && field.type != .message && field.type != .group {
            throw CodecError(error.kind, at: path, "invalid value for \(field.type == .enumeration ? field.typeName : field.type.keyword) field \(field.name): \(error.reason)")
        }
    }

    private func enumNumber(_ value: JSONValue, _ typeName: String) throws -> Int32 {
        let e = try pool.enumeration(typeName)
        switch value {
        case .null where e.fullName == "google.protobuf.NullValue": return 0
        case .string(let name):
            guard let v = e.value(named: name) else {
                throw CodecError(.invalidValue, "\(JSONPrinter.quote(name)) is not a value of \(e.fullName) (one of \(e.values.map(\.name).joined(separator: ", ")))")
            }
            return v.number
        case .number:
            return Int32(try ScalarFormats.signed(value, bits: 32))
        default:
            throw CodecError(.wrongType, "expected an enum name or number, got \(value.kind)")
        }
    }
}
