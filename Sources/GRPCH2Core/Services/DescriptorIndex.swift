import ProtoWire

/// An index over a serialized `google.protobuf.FileDescriptorSet` (what `protoc
/// --descriptor_set_out --include_imports` writes): files by name, the file declaring each
/// fully-qualified symbol, and the services. It feeds server reflection.
///
/// Only the few descriptor fields reflection needs are read, with ProtoWire's reader, so the
/// runtime needs no generated code for descriptor.proto.
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
        var reader = WireReader(bytes[...])
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
        var reader = WireReader(bytes[...])
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
            var r = WireReader(s)
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
        var r = WireReader(bytes)
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
        var r = WireReader(descriptor)
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

/// The bytes are not valid protobuf wire format (ProtoWire's error, under the name this
/// API has always used).
public typealias ProtoWireError = WireFormatError
