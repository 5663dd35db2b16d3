import ArgumentParser
import Foundation
import KatoServer
import Logging

/// The durable store's flags (docs/DURABILITY.md). Each is also read from `KATO_<FLAG>`.
struct StoreOptions: ParsableArguments {
    @Flag(name: .customLong("in-memory"), help: "Keep the knowledge base in memory only; nothing is written to --data-dir (KATO_IN_MEMORY=1).")
    var inMemory = false
    @Option(name: .customLong("store-breaker-failures"), help: "Consecutive store failures that open the circuit breaker; default 5 (KATO_STORE_BREAKER_FAILURES).")
    var breakerFailures: Int?
    @Option(name: .customLong("store-breaker-reset-seconds"), help: "Seconds the breaker stays open before a probe; default 30 (KATO_STORE_BREAKER_RESET_SECONDS).")
    var breakerResetSeconds: Double?
    /// TEST ONLY: honours KATO_TEST_STORE_FAULT_RATE / KATO_TEST_STORE_FAULT_CONTROL.
    @Flag(name: .customLong("enable-test-faults"), help: .hidden)
    var enableTestFaults = false

    func apply(to configuration: inout KatoServerApp.Configuration, dataDir: String) throws {
        let env = ProcessInfo.processInfo.environment
        let memoryOnly = inMemory || ["1", "true", "yes"].contains(env["KATO_IN_MEMORY"]?.lowercased() ?? "")
        configuration.dataDirectory = memoryOnly ? nil : dataDir
        if let text = breakerFailures.map(String.init) ?? env["KATO_STORE_BREAKER_FAILURES"] {
            guard let n = Int(text), n >= 1 else { throw ValidationError("store-breaker-failures must be an integer >= 1") }
            configuration.storeBreakerFailureThreshold = n
        }
        if let text = breakerResetSeconds.map({ String($0) }) ?? env["KATO_STORE_BREAKER_RESET_SECONDS"] {
            guard let s = Double(text), s > 0 else { throw ValidationError("store-breaker-reset-seconds must be > 0") }
            configuration.storeBreakerResetTimeout = .milliseconds(Int64(s * 1000))
        }
        if enableTestFaults { configuration.enableTestStoreFaults(environment: env) }
    }
}

/// `kato-server verify --data-dir D`: integrity check of a data directory the server does not hold.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a knowledge base offline; exits 1 and lists the problems if any.")
    @Option(name: .customLong("data-dir"), help: "Data directory.") var dataDir = "./data"
    @Option(help: "Check the knowledge base in PostgreSQL instead (postgres://…).") var postgres: String?

    func run() async throws {
        do {
            let (ok, summary) = try await postgres.asyncMap { try await StoreTools.verify(postgres: $0, logger: toolLogger) }
                ?? StoreTools.verify(directory: dataDir)
            print(summary)
            if !ok { throw ExitCode(1) }
        } catch let e as StoreToolError {
            FileHandle.standardError.write(Data("kato-server verify: \(e.message)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// `kato-server export --data-dir D [--output F]`: the knowledge base as JSON Lines.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the knowledge base as JSON Lines (offline).")
    @Option(name: .customLong("data-dir"), help: "Data directory.") var dataDir = "./data"
    @Option(help: "Output file; default standard output.") var output: String?

    func run() throws {
        do {
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) else {
                    throw ValidationError("cannot create \(output)")
                }
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            } else {
                handle = FileHandle.standardOutput
            }
            let lines = try StoreTools.export(directory: dataDir, to: handle)
            FileHandle.standardError.write(Data("exported \(lines) lines\n".utf8))
        } catch let e as StoreToolError {
            FileHandle.standardError.write(Data("kato-server export: \(e.message)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// `kato-server import --data-dir D [--input F] [--replace]`.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Read a JSON Lines export into a data directory or PostgreSQL (one transaction).")
    @Option(name: .customLong("data-dir"), help: "Data directory.") var dataDir = "./data"
    @Option(help: "Import into the knowledge base in PostgreSQL instead (postgres://…); replicas may be running.") var postgres: String?
    @Option(help: "Input file; default standard input.") var input: String?
    @Flag(help: "Replace nodes that already exist.") var replace = false

    func run() async throws {
        do {
            let data = try input.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } ?? FileHandle.standardInput.readDataToEndOfFile()
            let n = try await postgres.asyncMap { try await StoreTools.importLines(data, intoPostgres: $0, replace: replace, logger: toolLogger) }
                ?? StoreTools.importLines(data, into: dataDir, replace: replace)
            FileHandle.standardError.write(Data("imported \(n) patterns\n".utf8))
        } catch let e as StoreToolError {
            FileHandle.standardError.write(Data("kato-server import: \(e.message)\n".utf8))
            throw ExitCode(2)
        }
    }
}

extension KatoServerCommand {
    /// `kato-server verify|export|import …` run the offline store tools (their own argument
    /// parsing, so their `--data-dir` is theirs); anything else serves.
    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        let tools: [String: any ParsableCommand.Type] = ["export": ExportCommand.self]
        let asyncTools: [String: any AsyncParsableCommand.Type] = [
            "verify": VerifyCommand.self, "import": ImportCommand.self, "restart": RestartCommand.self,
            "test-postgres-query-race": PostgresQueryRaceCommand.self,
            "bench-handover-sessions": HandOverBenchCommand.self,
        ]
        if let first = args.first, let tool = tools[first] {
            tool.main(Array(args.dropFirst()))
            Foundation.exit(0)
        }
        if let first = args.first, let tool = asyncTools[first] {
            await tool.main(Array(args.dropFirst()))
            Foundation.exit(0)
        }
        if args.first == "bench-store" {
            await StoreBenchCommand.main(Array(args.dropFirst()))
            Foundation.exit(0)
        }
        if args.first == "migrate-postgres" {
            await MigratePostgresCommand.main(Array(args.dropFirst()))
            Foundation.exit(0)
        }
        do {
            var command = try parseAsRoot()
            if var serving = command as? any AsyncParsableCommand {
                try await serving.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The offline tools log only errors (their output is the report).
let toolLogger: Logger = {
    var logger = Logger(label: "kato-server")
    logger.logLevel = .error
    return logger
}()

extension Optional {
    /// `map` for an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
