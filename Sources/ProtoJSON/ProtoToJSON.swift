import ProtoWire
import StrictJSON

/// Protobuf wire bytes → proto3 JSON, driven by descriptors from a `DescriptorPool`.
///
/// Fields come out in field-number order under their JSON names; 64-bit integers as strings;
/// enums by name (by number when the name is unknown); bytes as base64; maps as objects
/// with sorted keys; the well-known types in their special forms. Unknown fields are
/// dropped, as grpcurl drops them.
public struct ProtoToJSON: Sendable {
    public let pool: DescriptorPool
    /// Print fields that hold their default value (and empty lists, maps, null messages).
    public var emitDefaults: Bool

    public init(pool: DescriptorPool, emitDefaults: Bool = false) {
        self.pool = pool
        self.emitDefaults = emitDefaults
    }

    public func decode(_ bytes: [UInt8], as typeName: String) throws -> JSONValue {
        try decodeMessage(bytes[...], try pool.message(typeName), path: FieldPath())
    }

    public func decodeMessage(_ bytes: ArraySlice<UInt8>, _ message: MessageDescriptor, path: FieldPath) throws -> JSONValue {
        if let wkt = message.wellKnownType {
            return try decodeWellKnown(wkt, bytes, message, path: path)
        }
        // Wire values grouped by field (index into message.fields); unknown numbers dropped.
        var values = [[WireValue]](repeating: [], count: message.fields.count)
        var lastPosition = message.oneofs.isEmpty ? [] : [Int](repeating: -1, count: message.fields.count)
        var position = 0
        var reader = WireReader(bytes)
        while let (number, value) = try reader.next() {
            guard let i = message.fieldIndex(number: number) else { continue }
            values[i].append(value)
            if !lastPosition.isEmpty { lastPosition[i] = position }
            position += 1
        }
        // The oneof member seen last wins (as protobuf parsers do).
        var oneofWinner: [Int: Int] = [:]
        if !lastPosition.isEmpty {
            var winnerPosition: [Int: Int] = [:]
            for (i, field) in message.fields.enumerated() {
                guard let o = field.oneofIndex, lastPosition[i] >= 0 else { continue }
                if let p = winnerPosition[o], p > lastPosition[i] { continue }
                oneofWinner[o] = field.number
                winnerPosition[o] = lastPosition[i]
            }
        }

        var members: [(String, JSONValue)] = []
        members.reserveCapacity(message.fields.count)
        for i in message.numberOrder {
            let field = message.fields[i]
            let fieldPath = path.appending(field: field.jsonName)
            let wire = values[i]
            if let o = field.oneofIndex, oneofWinner[o] != nil, oneofWinner[o] != field.number { continue }
            if let entryType = mapEntry(field) {
                // Only length-delimited values are entries; others (a wrong wire type) are dropped
                // as unknown, so they must not print an empty map either.
                let entries = wire.filter { if case .bytes = $0 { true } else { false } }
                if entries.isEmpty && !emitDefaults { continue }
                members.append((field.jsonName, try decodeMap(entries, entryType, path: fieldPath)))
            } else if field.isRepeated {
                // An empty packed run carries no element: nothing to print, as for no value at all.
                let items = try decodeRepeated(field, wire, path: fieldPath)
                if items.isEmpty && !emitDefaults { continue }
                members.append((field.jsonName, .array(items)))
            } else if field.type == .message || field.type == .group {
                let chunks = wire.compactMap { v -> ArraySlice<UInt8>? in
                    switch v {
                    case .bytes(let b), .group(let b): b
                    default: nil
                    }
                }
                if chunks.isEmpty {
                    let explicitPresence = field.oneofIndex != nil
                    if emitDefaults && !explicitPresence { members.append((field.jsonName, .null)) }
                    continue
                }
                let joined = chunks.count == 1 ? chunks[0] : ArraySlice(chunks.flatMap { $0 })
                members.append((field.jsonName, try decodeMessage(joined, try pool.message(field.typeName), path: fieldPath)))
            } else {
                let hasPresence = field.oneofIndex != nil || field.proto3Optional || message.isProto2
                guard let last = wire.last(where: { $0.wireType == field.type.wireType }) ?? lastPackedElement(field, wire) else {
                    if emitDefaults && !hasPresence { members.append((field.jsonName, defaultValue(field))) }
                    continue
                }
                let value = try scalar(field, last, path: fieldPath)
                if !hasPresence && !emitDefaults && isDefault(value, field) { continue }
                members.append((field.jsonName, value))
            }
        }
        return .object(members)
    }

    private func mapEntry(_ field: FieldDescriptor) -> MessageDescriptor? {
        guard field.isRepeated, field.type == .message, let m = try? pool.message(field.typeName), m.isMapEntry else { return nil }
        return m
    }

    private func lastPackedElement(_ field: FieldDescriptor, _ wire: [WireValue]) -> WireValue? {
        // A singular scalar that arrived packed (a schema change from repeated): take the last.
        guard field.type.isPackable, case .bytes(let b)? = wire.last else { return nil }
        return try? unpack(field, b).last
    }

    private func decodeRepeated(_ field: FieldDescriptor, _ wire: [WireValue], path: FieldPath) throws -> [JSONValue] {
        var items: [JSONValue] = []
        for v in wire {
            if field.type.isPackable, case .bytes(let packed) = v {
                for element in try unpack(field, packed) {
                    items.append(try scalar(field, element, path: path.appending(index: items.count)))
                }
            } else if field.type == .message || field.type == .group {
                switch v {
                case .bytes(let b), .group(let b):
                    items.append(try decodeMessage(b, try pool.message(field.typeName), path: path.appending(index: items.count)))
                default: throw CodecError(.malformedBinary, at: path, "wrong wire type for message field \(field.name)")
                }
            } else {
                items.append(try scalar(field, v, path: path.appending(index: items.count)))
            }
        }
        return items
    }

    private func unpack(_ field: FieldDescriptor, _ bytes: ArraySlice<UInt8>) throws -> [WireValue] {
        var r = WireReader(bytes)
        var out: [WireValue] = []
        while !r.isAtEnd {
            switch field.type.wireType {
            case .fixed32: out.append(.fixed32(UInt32(try r.fixed(4))))
            case .fixed64: out.append(.fixed64(try r.fixed(8)))
            default: out.append(.varint(try r.varint()))
            }
        }
        return out
    }

    private func decodeMap(_ wire: [WireValue], _ entry: MessageDescriptor, path: FieldPath) throws -> JSONValue {
        guard let keyField = entry.field(number: 1), let valueField = entry.field(number: 2) else {
            throw CodecError(.unknownType, at: path, "malformed map entry type \(entry.fullName)")
        }
        var result: [(key: JSONValue, value: JSONValue)] = []
        var index: [String: Int] = [:]
        for v in wire {
            guard case .bytes(let b) = v else { continue }
            var key: WireValue?
            var valueChunks: [ArraySlice<UInt8>] = []
            var valueScalar: WireValue?
            var r = WireReader(b)
            while let (f, x) = try r.next() {
                if f == 1 { key = x }
                if f == 2 {
                    if case .bytes(let c) = x, valueField.type == .message { valueChunks.append(c) } else { valueScalar = x }
                }
            }
            let keyJSON = try key.map { try scalar(keyField, $0, path: path) } ?? defaultValue(keyField)
            let keyText = Self.keyString(keyJSON)
            let itemPath = path.appending(key: keyText)
            let valueJSON: JSONValue
            if valueField.type == .message {
                let m = try pool.message(valueField.typeName)
                valueJSON = try decodeMessage(ArraySlice(valueChunks.flatMap { $0 }), m, path: itemPath)
            } else {
                valueJSON = try valueScalar.map { try scalar(valueField, $0, path: itemPath) } ?? defaultValue(valueField)
            }
            if let i = index[keyText] {
                result[i].value = valueJSON
            } else {
                index[keyText] = result.count
                result.append((keyJSON, valueJSON))
            }
        }
        result.sort { Self.keyLess($0.key, $1.key) }
        return .object(result.map { (Self.keyString($0.key), $0.value) })
    }

    private static func keyString(_ key: JSONValue) -> String {
        switch key {
        case .string(let s), .number(let s): s
        case .bool(let b): b ? "true" : "false"
        default: ""
        }
    }

    private static func keyLess(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)), (.string(let x), .string(let y)):
            if let i = Int64(x), let j = Int64(y) { return i < j }
            if let i = UInt64(x), let j = UInt64(y) { return i < j }
            return x < y
        case (.bool(let x), .bool(let y)): return !x && y
        default: return keyString(a) < keyString(b)
        }
    }

    /// One scalar (or enum) value as JSON.
    public func scalar(_ field: FieldDescriptor, _ value: WireValue, path: FieldPath) throws -> JSONValue {
        switch (field.type, value) {
        case (.int32, .varint(let n)): return .number(String(Int32(truncatingIfNeeded: n)))
        case (.int64, .varint(let n)): return .string(String(Int64(bitPattern: n)))
        case (.uint32, .varint(let n)): return .number(String(UInt32(truncatingIfNeeded: n)))
        case (.uint64, .varint(let n)): return .string(String(n))
        case (.sint32, .varint(let n)): return .number(String(Int32(truncatingIfNeeded: ZigZag.decode(n))))
        case (.sint64, .varint(let n)): return .string(String(ZigZag.decode(n)))
        case (.bool, .varint(let n)): return .bool(n != 0)
        case (.enumeration, .varint(let n)):
            let number = Int32(truncatingIfNeeded: n)
            if field.typeName == "google.protobuf.NullValue" { return .null }
            let e = try pool.enumeration(field.typeName)
            return e.value(number: number).map { .string($0.name) } ?? .number(String(number))
        case (.fixed32, .fixed32(let n)): return .number(String(n))
        case (.sfixed32, .fixed32(let n)): return .number(String(Int32(bitPattern: n)))
        case (.float, .fixed32(let n)): return ScalarFormats.json(Float(bitPattern: n))
        case (.fixed64, .fixed64(let n)): return .string(String(n))
        case (.sfixed64, .fixed64(let n)): return .string(String(Int64(bitPattern: n)))
        case (.double, .fixed64(let n)): return ScalarFormats.json(Double(bitPattern: n))
        case (.string, .bytes(let b)): return .string(String(decoding: b, as: UTF8.self))
        case (.bytes, .bytes(let b)): return .string(ScalarFormats.base64(b))
        case (.message, .bytes(let b)), (.group, .group(let b)):
            return try decodeMessage(b, try pool.message(field.typeName), path: path)
        default:
            throw CodecError(.malformedBinary, at: path, "wire type \(value.wireType) does not fit \(field.type.keyword) field \(field.name)")
        }
    }

    /// The JSON of a field's default value (for --emit-defaults).
    public func defaultValue(_ field: FieldDescriptor) -> JSONValue {
        switch field.type {
        case .int64, .uint64, .sint64, .fixed64, .sfixed64: return .string("0")
        case .int32, .uint32, .sint32, .fixed32, .sfixed32, .float, .double: return .number("0")
        case .bool: return .bool(false)
        case .string, .bytes: return .string("")
        case .enumeration:
            if field.typeName == "google.protobuf.NullValue" { return .null }
            if let e = try? pool.enumeration(field.typeName) {
                return e.value(number: 0).map { .string($0.name) } ?? .number("0")
            }
            return .number("0")
        case .message, .group: return .null
        }
    }

    private func isDefault(_ value: JSONValue, _ field: FieldDescriptor) -> Bool {
        switch value {
        case .number(let n): return n == "0"
        case .string(let s):
            if field.type == .enumeration { return value == defaultValue(field) }
            return s.isEmpty || (s == "0" && field.type != .string && field.type != .bytes)
        case .bool(let b): return !b
        case .null: return true
        default: return false
        }
    }
}
