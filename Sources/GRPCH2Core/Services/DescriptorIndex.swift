/// An index over a serialized `google.protobuf.FileDescriptorSet` (what `protoc
/// --descriptor_set_out --include_imports` writes): files by name, the file declaring each
/// fully-qualified symbol, and the services. It feeds server reflection.
///
/// Only the few descriptor fields reflection needs are read, with a minimal wire-format
/// reader, so the runtime needs no generated code for descriptor.proto.
public struct DescriptorIndex: Sendable {
    /// One `FileDescriptorProto`, serialized as it appeared in the set.
    public struct File: Sendable {
        public let name: String
        public let package: String
        public let dependencies: [String]
        public let serialized: [UInt8]
        public let services: [String]
    }

    public private(set) var files: [String: File] = [:]
    /// Fully-qualified symbol (message, enum, service, method, nested types) → file name.
    public private(set) var symbols: [String: String] = [:]
    /// Fully-qualified service names, in file order.
    public private(set) var services: [String] = []

    public init() {}

    /// Parses a FileDescriptorSet; throws on malformed bytes.
    public init(descriptorSet bytes: [UInt8]) throws(ProtoWireError) {
        var reader = ProtoWireReader(bytes[...])
        while let (field, value) = try reader.next() {
            if field == 1, case .bytes(let fileBytes) = value {
                try add(fileDescriptor: Array(fileBytes))
            }
        }
    }

    /// Adds one serialized FileDescriptorProto.
    public mutating func add(fileDescriptor bytes: [UInt8]) throws(ProtoWireError) {
        var name = "", package = "", dependencies: [String] = []
        var messages: [ArraySlice<UInt8>] = [], enums: [ArraySlice<UInt8>] = [], serviceDescriptors: [ArraySlice<UInt8>] = []
        var reader = ProtoWireReader(bytes[...])
        while let (field, value) = try reader.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: name = String(decoding: b, as: UTF8.self)
            case 2: package = String(decoding: b, as: UTF8.self)
            case 3: dependencies.append(String(decoding: b, as: UTF8.self))
            case 4: messages.append(b)
            case 5: enums.append(b)
            case 6: serviceDescriptors.append(b)
            default: break
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        var fileServices: [String] = []
        for m in messages { try indexMessage(m, prefix: prefix, file: name) }
        for e in enums { symbols[prefix + (try Self.name(of: e))] = name }
        for s in serviceDescriptors {
            var serviceName = ""
            var methods: [String] = []
            var r = ProtoWireReader(s)
            while let (field, value) = try r.next() {
                guard case .bytes(let b) = value else { continue }
                if field == 1 { serviceName = String(decoding: b, as: UTF8.self) }
                if field == 2 { methods.append(try Self.name(of: b)) }
            }
            let full = prefix + serviceName
            symbols[full] = name
            for m in methods { symbols[full + "." + m] = name }
            fileServices.append(full)
            services.append(full)
        }
        files[name] = File(name: name, package: package, dependencies: dependencies, serialized: bytes, services: fileServices)
    }

    private mutating func indexMessage(_ bytes: ArraySlice<UInt8>, prefix: String, file: String) throws(ProtoWireError) {
        var messageName = ""
        var nested: [ArraySlice<UInt8>] = [], nestedEnums: [ArraySlice<UInt8>] = []
        var r = ProtoWireReader(bytes)
        while let (field, value) = try r.next() {
            guard case .bytes(let b) = value else { continue }
            switch field {
            case 1: messageName = String(decoding: b, as: UTF8.self)
            case 3: nested.append(b)
            case 4: nestedEnums.append(b)
            default: break
            }
        }
        let full = prefix + messageName
        symbols[full] = file
        for n in nested { try indexMessage(n, prefix: full + ".", file: file) }
        for e in nestedEnums { symbols[full + "." + (try Self.name(of: e))] = file }
    }

    private static func name(of descriptor: ArraySlice<UInt8>) throws(ProtoWireError) -> String {
        var r = ProtoWireReader(descriptor)
        while let (field, value) = try r.next() {
            if field == 1, case .bytes(let b) = value { return String(decoding: b, as: UTF8.self) }
        }
        return ""
    }

    /// The file and every file it depends on, transitively, dependencies first (what
    /// reflection returns so that a client can build a descriptor pool).
    public func fileWithDependencies(_ name: String) -> [File] {
        var seen = Set<String>()
        var ordered: [File] = []
        func visit(_ n: String) {
            guard !seen.contains(n), let f = files[n] else { return }
            seen.insert(n)
            for d in f.dependencies { visit(d) }
            ordered.append(f)
        }
        visit(name)
        return ordered
    }

    /// Merges another index (e.g. the runtime's own health/reflection descriptors).
    public mutating func merge(_ other: DescriptorIndex) {
        for (k, v) in other.files where files[k] == nil {
            files[k] = v
            for s in v.services where !services.contains(s) { services.append(s) }
        }
        for (k, v) in other.symbols where symbols[k] == nil { symbols[k] = v }
    }
}

/// The bytes are not valid protobuf wire format.
public struct ProtoWireError: Error, Hashable, Sendable {
    public let reason: String
}

/// A minimal protobuf wire-format reader (varints, fixed, length-delimited).
struct ProtoWireReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    mutating func next() throws(ProtoWireError) -> (Int, Value)? {
        guard index < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        case 2:
            let length = Int(try varint())
            guard length >= 0, bytes.endIndex - index >= length else { throw ProtoWireError(reason: "truncated field \(field)") }
            defer { index += length }
            return (field, .bytes(bytes[index..<index + length]))
        default:
            throw ProtoWireError(reason: "unsupported wire type \(key & 7)")
        }
    }

    private mutating func varint() throws(ProtoWireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.endIndex, shift < 64 {
            let b = bytes[index]
            index += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw ProtoWireError(reason: "truncated varint")
    }

    private mutating func fixed(_ n: Int) throws(ProtoWireError) -> UInt64 {
        guard bytes.endIndex - index >= n else { throw ProtoWireError(reason: "truncated fixed field") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += n
        return v
    }
}
