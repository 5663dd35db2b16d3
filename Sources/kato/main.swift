// The `kato` command-line tool: grpcurl-style inspection and calls through server
// reflection (list, describe, call) and domain verbs for people (session, observe, learn,
// predict, stm, kb, health, verify/export/import). See docs/CLI.md.
import ArgumentParser
import Foundation

struct Kato: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kato",
        abstract: "Talk to a kato server (or any gRPC server with reflection).",
        discussion: "Every subcommand connects to --server HOST:PORT (default 127.0.0.1:50051, env KATO_SERVER).",
        version: "kato 2.0.0",
        subcommands: [
            ListCommand.self, DescribeCommand.self, CallCommand.self,
            SessionCommand.self, ObserveCommand.self, LearnCommand.self, PredictCommand.self, STMCommand.self, KnowledgeBaseCommand.self,
            HealthCommand.self, VerifyCommand.self, ExportCommand.self, ImportCommand.self,
        ]
    )
}

extension Kato {
    /// `main()`, except that usage errors exit with 2 (ArgumentParser's 64 would read as
    /// "64 + OK" next to the 64 + status code of a failed RPC).
    static func launch(_ arguments: [String]) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

await Kato.launch(Array(CommandLine.arguments.dropFirst()))
