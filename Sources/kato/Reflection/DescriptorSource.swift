import ProtoJSON
import ProtoWire
import StrictJSON

/// Descriptors fetched on demand through server reflection, into one `DescriptorPool`;
/// the compiled-in well-known types fill in what the server does not offer.
final class DescriptorSource {
    private(set) var pool = DescriptorPool()
    private let reflection: ReflectionClient
    private let embedded = DescriptorPool.wellKnownTypes

    init(reflection: ReflectionClient) {
        self.reflection = reflection
    }

    func listServices() async throws -> [String] {
        try await reflection.listServices()
    }

    /// Loads the file declaring `symbol` (a message, enum, service or method) and its
    /// dependencies. Throws `SymbolNotFound` when neither the server nor the embedded
    /// types know it.
    func load(symbol: String) async throws {
        let name = DescriptorPool.strip(symbol)
        if isKnown(name) { return }
        do {
            try await add(files: try await reflection.fileContainingSymbol(name))
        } catch let error as ReflectionError where error.code == .notFound {
            guard addEmbedded(containing: name) else { throw SymbolNotFound(symbol: name) }
        }
        guard isKnown(name) else {
            if addEmbedded(containing: name) { return }
            throw SymbolNotFound(symbol: name)
        }
    }

    func isKnown(_ name: String) -> Bool {
        if pool.messages[name] != nil || pool.enums[name] != nil || pool.services[name] != nil { return true }
        let (service, method) = DescriptorPool.splitMethod(name)
        return pool.services[service]?.methods.contains { $0.name == method } ?? false
    }

    /// Runs `body` (a codec operation), loading every type it reports missing, until it
    /// succeeds or a type cannot be found.
    func withTypes<T>(_ body: (DescriptorPool) throws -> T) async throws -> T {
        var attempts = 0
        while true {
            do {
                return try body(pool)
            } catch let missing as MissingDescriptor {
                attempts += 1
                guard attempts < 1000, !isKnown(missing.name) else { throw CodecError(.unknownType, "cannot resolve type \(missing.name)") }
                do {
                    try await load(symbol: missing.name)
                } catch is SymbolNotFound {
                    throw CodecError(.unknownType, "type \(missing.name) is not known to the server's reflection service")
                }
            }
        }
    }

    private func add(files: [[UInt8]]) async throws {
        var pending: [String] = []
        for bytes in files {
            try pool.add(fileDescriptor: bytes)
        }
        for file in pool.files.values { pending.append(contentsOf: file.dependencies.filter { pool.files[$0] == nil }) }
        var tried = Set<String>()
        while let dependency = pending.popLast() {
            guard pool.files[dependency] == nil, tried.insert(dependency).inserted else { continue }
            do {
                for bytes in try await reflection.fileByFilename(dependency) { try pool.add(fileDescriptor: bytes) }
            } catch let error as ReflectionError where error.code == .notFound {
                pool.add(fileNamed: dependency, from: embedded)
            }
            if let file = pool.files[dependency] {
                pending.append(contentsOf: file.dependencies.filter { pool.files[$0] == nil })
            }
        }
    }

    private func addEmbedded(containing name: String) -> Bool {
        let file = embedded.messages[name]?.file ?? embedded.enums[name]?.file ?? embedded.services[name]?.file
        guard let file else { return false }
        var queue = [file]
        while let f = queue.popLast() {
            guard pool.files[f] == nil, let descriptor = embedded.files[f] else { continue }
            pool.add(fileNamed: f, from: embedded)
            queue.append(contentsOf: descriptor.dependencies)
        }
        return isKnown(name)
    }
}

/// Neither the server nor the compiled-in types declare a symbol.
struct SymbolNotFound: Error, CustomStringConvertible {
    let symbol: String
    var description: String { "Symbol not found: \(symbol)" }
}
