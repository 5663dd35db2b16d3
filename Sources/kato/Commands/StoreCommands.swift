import ArgumentParser

/// `kato verify|export|import --data-dir DIR`: offline maintenance of a data directory.
///
/// They need the durable store's maintenance API in KatoStore, which this build does not
/// have yet: each says so and exits with 1.
enum StoreCommandsAvailability {
    static func unavailable(_ verb: String) -> CLIFailure {
        .failure("kato \(verb): not available in this build (the durable store's maintenance API is not part of KatoStore yet)")
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a data directory's knowledge base (offline; the server must not hold it)."
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The server's data directory.", valueName: "dir"))
    var dataDir: String

    func run() async throws {
        try await CommandRunner.run { throw StoreCommandsAvailability.unavailable("verify") }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a data directory's knowledge base as JSON Lines (offline)."
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The server's data directory.", valueName: "dir"))
    var dataDir: String

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"))
    var output: String?

    func run() async throws {
        try await CommandRunner.run { throw StoreCommandsAvailability.unavailable("export") }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import JSON Lines made by `kato export` into a data directory (offline)."
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The server's data directory.", valueName: "dir"))
    var dataDir: String

    @Flag(help: "Replace the nodes being imported instead of refusing when they exist.")
    var replace = false

    @Argument(help: "The JSON Lines file (- for stdin).")
    var file: String

    func run() async throws {
        try await CommandRunner.run { throw StoreCommandsAvailability.unavailable("import") }
    }
}
