import ArgumentParser
import ProtoJSON
import ProtoWire
import StrictJSON

/// `kato list [SERVICE]`: the server's services, or a service's methods (grpcurl `list`).
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the services offered through server reflection, or the methods of one service."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "A fully-qualified service name; lists its methods.")
    var service: String?

    func run() async throws {
        try await CommandRunner.run {
            try await ReflectionSession.with(connection) { session in
                guard let service = service.map(DescriptorPool.strip) else {
                    let services = try await session.reflect("Failed to list services") { try await session.source.listServices() }
                    for s in services.sorted() { Console.out(s + "\n") }
                    return
                }
                try await session.reflect("Failed to list methods for service \"\(service)\"") {
                    try await session.source.load(symbol: service)
                }
                guard let descriptor = session.source.pool.services[service] else {
                    throw CLIFailure.failure("Failed to list methods for service \"\(service)\": Service not found: \(service)")
                }
                for m in descriptor.methods.map(\.fullName).sorted() { Console.out(m + "\n") }
            }
        }
    }
}
