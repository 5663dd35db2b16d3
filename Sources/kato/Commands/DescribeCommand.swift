import ArgumentParser
import ProtoJSON
import ProtoWire
import StrictJSON

/// `kato describe [SYMBOL]`: a service, method, message or enum as proto source (grpcurl
/// `describe`); every service when no symbol is given.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe a service, method, message or enum (all services when none is given)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "A fully-qualified symbol, e.g. kato.v2.ObserveService or kato.v2.ObserveRequest.")
    var symbol: String?

    func run() async throws {
        try await CommandRunner.run {
            try await ReflectionSession.with(connection) { session in
                let source = session.source
                let symbols: [String]
                if let symbol {
                    symbols = [DescriptorPool.strip(symbol)]
                } else {
                    symbols = try await session.reflect("Failed to list services") { try await source.listServices() }
                }
                for name in symbols {
                    try await session.reflect("Failed to resolve symbol \"\(name)\"") { try await source.load(symbol: name) }
                    Console.out(try Self.describe(name, pool: source.pool))
                }
            }
        }
    }

    static func describe(_ name: String, pool: DescriptorPool) throws -> String {
        let printer = ProtoPrinter(pool: pool)
        if let s = pool.services[name] {
            return "\(name) is a service:\n" + printer.service(s)
        }
        if let m = pool.messages[name] {
            if m.isMapEntry, let dot = name.lastIndex(of: "."), let parent = pool.messages[String(name[..<dot])] {
                let proto2 = pool.files[parent.file]?.syntax == "proto2"
                let fields = parent.fields.filter { $0.typeName == name }
                return "\(name) is the entry type for a map field:\n"
                    + fields.map { printer.comments(file: parent.file, path: $0.path, level: 0) + printer.fieldLine($0, proto2: proto2, inOneof: false) + "\n" }.joined()
            }
            return "\(name) is a message:\n" + printer.message(m)
        }
        if let e = pool.enums[name] {
            return "\(name) is an enum:\n" + printer.enumeration(e)
        }
        let (serviceName, methodName) = DescriptorPool.splitMethod(name)
        if let s = pool.services[serviceName], let m = s.methods.first(where: { $0.name == methodName }) {
            return "\(name) is a method:\n" + printer.method(m, file: s.file)
        }
        throw CLIFailure.failure("Failed to resolve symbol \"\(name)\": Symbol not found: \(name)")
    }
}
