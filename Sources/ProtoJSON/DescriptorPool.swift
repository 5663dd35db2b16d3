import ProtoWire
import StrictJSON

/// Every descriptor known so far, by fully-qualified name (no leading dot). Files are added
/// as reflection returns them; symbols of the embedded well-known types fill the gaps.
public struct DescriptorPool: Sendable {
    public private(set) var files: [String: FileDescriptor] = [:]
    public private(set) var messages: [String: MessageDescriptor] = [:]
    public private(set) var enums: [String: EnumDescriptor] = [:]
    public private(set) var services: [String: ServiceDescriptor] = [:]

    public init() {}

    /// Adds the files of a serialized FileDescriptorSet.
    public mutating func add(fileDescriptorSet bytes: [UInt8]) throws(WireFormatError) {
        var reader = WireReader(bytes)
        while let (field, value) = try reader.next() {
            if field == 1, case .bytes(let file) = value { try add(fileDescriptor: Array(file)) }
        }
    }

    /// Adds one serialized FileDescriptorProto (ignored when a file of that name is known).
    public mutating func add(fileDescriptor bytes: [UInt8]) throws(WireFormatError) {
        var parser = FileParser(bytes: bytes)
        try parser.parse()
        guard files[parser.file.name] == nil else { return }
        files[parser.file.name] = parser.file
        for m in parser.messages where messages[m.fullName] == nil { messages[m.fullName] = m }
        for e in parser.enums where enums[e.fullName] == nil { enums[e.fullName] = e }
        for s in parser.services where services[s.fullName] == nil { services[s.fullName] = s }
    }

    /// The compiled-in well-known types and google.rpc error details, indexed once per process.
    public static let wellKnownTypes: DescriptorPool = {
        var pool = DescriptorPool()
        try? pool.add(fileDescriptorSet: EmbeddedDescriptors.wellKnownTypes)
        return pool
    }()

    /// Adds the compiled-in well-known types where the pool does not already hold files of
    /// those names (copied from `wellKnownTypes`, not parsed again).
    public mutating func addWellKnownTypes() {
        for name in Self.wellKnownTypes.files.keys.sorted() {
            add(fileNamed: name, from: Self.wellKnownTypes)
        }
    }

    /// Copies one already-indexed file (and the symbols it declares) from another pool;
    /// nothing when this pool has a file of that name or `other` has none.
    public mutating func add(fileNamed name: String, from other: DescriptorPool) {
        guard files[name] == nil, let file = other.files[name] else { return }
        files[name] = file
        for (n, m) in other.messages where m.file == name && messages[n] == nil { messages[n] = m }
        for (n, e) in other.enums where e.file == name && enums[n] == nil { enums[n] = e }
        for (n, s) in other.services where s.file == name && services[n] == nil { services[n] = s }
    }

    public func message(_ name: String) throws(MissingDescriptor) -> MessageDescriptor {
        if let m = messages[name] { return m }
        guard let m = messages[Self.strip(name)] else { throw MissingDescriptor(name: Self.strip(name)) }
        return m
    }

    public func enumeration(_ name: String) throws(MissingDescriptor) -> EnumDescriptor {
        if let e = enums[name] { return e }
        guard let e = enums[Self.strip(name)] else { throw MissingDescriptor(name: Self.strip(name)) }
        return e
    }

    /// A method by `pkg.Service/Method` or `pkg.Service.Method`.
    public func method(_ name: String) -> MethodDescriptor? {
        let (service, method) = Self.splitMethod(name)
        return services[service]?.methods.first { $0.name == method }
    }

    public static func splitMethod(_ name: String) -> (service: String, method: String) {
        let n = strip(name)
        if let slash = n.lastIndex(of: "/") {
            return (String(n[..<slash]), String(n[n.index(after: slash)...]))
        }
        if let dot = n.lastIndex(of: ".") {
            return (String(n[..<dot]), String(n[n.index(after: dot)...]))
        }
        return ("", n)
    }

    public static func strip(_ name: String) -> String {
        name.hasPrefix(".") ? String(name.dropFirst()) : name
    }

    public func comments(file: String, path: [Int32]) -> SourceComments? {
        files[file]?.comments[path]
    }
}

/// A type is not (yet) in the pool; the caller may fetch it through reflection and retry.
public struct MissingDescriptor: Error, CustomStringConvertible, Sendable {
    public let name: String
    public var description: String { "unknown type \(name)" }
}

/// Reads one FileDescriptorProto into descriptors.
private struct FileParser {
    public let bytes: [UInt8]
    public var file = FileDescriptor()
    public var messages: [MessageDescriptor] = []
    public var enums: [EnumDescriptor] = []
    public var services: [ServiceDescriptor] = []

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public mutating func parse() throws(WireFormatError) {
        var reader = WireReader(bytes)
        var messageBytes: [ArraySlice<UInt8>] = [], enumBytes: [ArraySlice<UInt8>] = [], serviceBytes: [ArraySlice<UInt8>] = []
        var sourceInfo: ArraySlice<UInt8>?
        var hasSyntax = false
        while let (field, value) = try reader.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: file.name = string(b)
            case 2: file.package = string(b)
            case 3: file.dependencies.append(string(b))
            case 4: messageBytes.append(b)
            case 5: enumBytes.append(b)
            case 6: serviceBytes.append(b)
            case 9: sourceInfo = b
            case 12:
                file.syntax = string(b)
                hasSyntax = true
            default: break
            }
        }
        if !hasSyntax || file.syntax.isEmpty { file.syntax = "proto2" }
        file.serialized = bytes
        let prefix = file.package.isEmpty ? "" : file.package + "."
        for (i, m) in messageBytes.enumerated() {
            file.messages.append(try parseMessage(m, prefix: prefix, path: [4, Int32(i)]))
        }
        for (i, e) in enumBytes.enumerated() {
            file.enums.append(try parseEnum(e, prefix: prefix, path: [5, Int32(i)]))
        }
        for (i, s) in serviceBytes.enumerated() {
            file.services.append(try parseService(s, prefix: prefix, path: [6, Int32(i)]))
        }
        if let sourceInfo { try parseSourceInfo(sourceInfo) }
    }

    private func string(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    private mutating func parseMessage(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws(WireFormatError) -> String {
        var m = MessageDescriptor()
        m.file = file.name
        m.path = path
        var fieldBytes: [ArraySlice<UInt8>] = [], nested: [ArraySlice<UInt8>] = [], nestedEnums: [ArraySlice<UInt8>] = []
        var reader = WireReader(bytes)
        while let (field, value) = try reader.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: m.name = string(b)
            case 2: fieldBytes.append(b)
            case 3: nested.append(b)
            case 4: nestedEnums.append(b)
            case 5: m.extensionRanges.append(try Self.range(b))
            case 7:
                var options = WireReader(b)
                while let (f, v) = try options.next() {
                    if case .varint(let flag) = v {
                        if f == 7 { m.isMapEntry = flag != 0 }
                        if f == 3 { m.deprecated = flag != 0 }
                    }
                }
            case 8:
                var r = WireReader(b)
                var name = ""
                while let (f, v) = try r.next() {
                    if f == 1, case .bytes(let n) = v { name = string(n) }
                }
                m.oneofs.append(OneofDescriptor(name: name, path: path + [8, Int32(m.oneofs.count)]))
            case 9: m.reservedRanges.append(try Self.range(b))
            case 10: m.reservedNames.append(string(b))
            default: break
            }
        }
        m.fullName = prefix + m.name
        for (i, f) in fieldBytes.enumerated() {
            m.fields.append(try parseField(f, path: path + [2, Int32(i)]))
        }
        m.index(syntax: file.syntax)
        for f in m.fields where f.proto3Optional {
            if let o = f.oneofIndex, m.oneofs.indices.contains(o) { m.oneofs[o].isSynthetic = true }
        }
        for (i, n) in nested.enumerated() {
            m.nestedMessages.append(try parseMessage(n, prefix: m.fullName + ".", path: path + [3, Int32(i)]))
        }
        for (i, e) in nestedEnums.enumerated() {
            m.nestedEnums.append(try parseEnum(e, prefix: m.fullName + ".", path: path + [4, Int32(i)]))
        }
        messages.append(m)
        return m.fullName
    }

    private static func range(_ bytes: ArraySlice<UInt8>) throws(WireFormatError) -> (start: Int, end: Int) {
        var start = 0, end = 0
        var r = WireReader(bytes)
        while let (f, v) = try r.next() {
            guard case .varint(let n) = v else { continue }
            if f == 1 { start = Int(Int32(truncatingIfNeeded: n)) }
            if f == 2 { end = Int(Int32(truncatingIfNeeded: n)) }
        }
        return (start, end)
    }

    private func parseField(_ bytes: ArraySlice<UInt8>, path: [Int32]) throws(WireFormatError) -> FieldDescriptor {
        var f = FieldDescriptor()
        f.path = path
        var r = WireReader(bytes)
        while let (field, value) = try r.next() {
            switch (field, value) {
            case (1, .bytes(let b)): f.name = string(b)
            case (3, .varint(let n)): f.number = Int(Int32(truncatingIfNeeded: n))
            case (4, .varint(let n)): f.label = FieldLabel(rawValue: Int(n)) ?? .optional
            case (5, .varint(let n)): f.type = FieldType(rawValue: Int(n)) ?? .int32
            case (6, .bytes(let b)): f.typeName = DescriptorPool.strip(string(b))
            case (7, .bytes(let b)): f.defaultValue = string(b)
            case (9, .varint(let n)): f.oneofIndex = Int(n)
            case (10, .bytes(let b)):
                f.jsonName = string(b)
                f.hasExplicitJSONName = true
            case (17, .varint(let n)): f.proto3Optional = n != 0
            case (8, .bytes(let b)):
                var options = WireReader(b)
                while let (o, v) = try options.next() {
                    if case .varint(let flag) = v {
                        if o == 2 { f.packed = flag != 0 }
                        if o == 3 { f.deprecated = flag != 0 }
                    }
                }
            default: break
            }
        }
        if !f.hasExplicitJSONName { f.jsonName = defaultJSONName(f.name) }
        // A type_name without a resolved type (protoc always resolves it) names a message.
        if !f.typeName.isEmpty, f.type != .enumeration, f.type != .group { f.type = .message }
        return f
    }

    private mutating func parseEnum(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws(WireFormatError) -> String {
        var e = EnumDescriptor()
        e.file = file.name
        e.path = path
        var r = WireReader(bytes)
        while let (field, value) = try r.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: e.name = string(b)
            case 2:
                var v = EnumValueDescriptor(name: "", number: 0, path: path + [2, Int32(e.values.count)])
                var vr = WireReader(b)
                while let (f, x) = try vr.next() {
                    switch (f, x) {
                    case (1, .bytes(let n)): v.name = string(n)
                    case (2, .varint(let n)): v.number = Int32(truncatingIfNeeded: n)
                    case (3, .bytes(let o)):
                        var options = WireReader(o)
                        while let (of, ov) = try options.next() {
                            if of == 1, case .varint(let flag) = ov { v.deprecated = flag != 0 }
                        }
                    default: break
                    }
                }
                e.values.append(v)
            case 3:
                var options = WireReader(b)
                while let (f, v) = try options.next() {
                    if case .varint(let flag) = v {
                        if f == 2 { e.allowAlias = flag != 0 }
                        if f == 3 { e.deprecated = flag != 0 }
                    }
                }
            case 4: e.reservedRanges.append(try Self.range(b))
            case 5: e.reservedNames.append(string(b))
            default: break
            }
        }
        e.fullName = prefix + e.name
        enums.append(e)
        return e.fullName
    }

    private mutating func parseService(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws(WireFormatError) -> String {
        var s = ServiceDescriptor()
        s.file = file.name
        s.path = path
        var methodBytes: [ArraySlice<UInt8>] = []
        var r = WireReader(bytes)
        while let (field, value) = try r.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: s.name = string(b)
            case 2: methodBytes.append(b)
            case 3:
                var options = WireReader(b)
                while let (f, v) = try options.next() {
                    if f == 33, case .varint(let flag) = v { s.deprecated = flag != 0 }
                }
            default: break
            }
        }
        s.fullName = prefix + s.name
        for (i, b) in methodBytes.enumerated() {
            var m = MethodDescriptor()
            m.path = path + [2, Int32(i)]
            var mr = WireReader(b)
            while let (field, value) = try mr.next() {
                switch (field, value) {
                case (1, .bytes(let n)): m.name = string(n)
                case (2, .bytes(let n)): m.inputType = DescriptorPool.strip(string(n))
                case (3, .bytes(let n)): m.outputType = DescriptorPool.strip(string(n))
                case (5, .varint(let n)): m.clientStreaming = n != 0
                case (6, .varint(let n)): m.serverStreaming = n != 0
                case (4, .bytes(let o)):
                    var options = WireReader(o)
                    while let (f, v) = try options.next() {
                        if f == 33, case .varint(let flag) = v { m.deprecated = flag != 0 }
                        if f == 34, case .varint(let level) = v { m.idempotencyLevel = Int(truncatingIfNeeded: level) }
                    }
                default: break
                }
            }
            m.fullName = s.fullName + "." + m.name
            s.methods.append(m)
        }
        services.append(s)
        return s.fullName
    }

    private mutating func parseSourceInfo(_ bytes: ArraySlice<UInt8>) throws(WireFormatError) {
        var r = WireReader(bytes)
        while let (field, value) = try r.next() {
            guard field == 1, case .bytes(let location) = value else { continue }
            var path: [Int32] = []
            var comments = SourceComments()
            var lr = WireReader(location)
            while let (f, v) = try lr.next() {
                switch (f, v) {
                case (1, .bytes(let packed)):
                    var pr = WireReader(packed)
                    while !pr.isAtEnd { path.append(Int32(truncatingIfNeeded: try pr.varint())) }
                case (1, .varint(let n)): path.append(Int32(truncatingIfNeeded: n))
                case (3, .bytes(let c)): comments.leading = string(c)
                case (4, .bytes(let c)): comments.trailing = string(c)
                default: break
                }
            }
            if comments.leading != nil || comments.trailing != nil, file.comments[path] == nil {
                file.comments[path] = comments
            }
        }
    }
}
