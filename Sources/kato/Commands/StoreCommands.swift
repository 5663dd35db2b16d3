import ArgumentParser
import Foundation
import KatoStore

/// `kato verify|export|import --data-dir DIR`: offline maintenance of a server's data
/// directory, through KatoStore's `KnowledgeBaseMaintenance`. Each takes the directory's
/// lock, so it refuses (exit 1) while a server holds the directory.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a data directory's knowledge base (offline; exit 0 when it passes, 1 when not)."
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The server's data directory.", valueName: "dir"))
    var dataDir: String

    func run() async throws {
        try await CommandRunner.run {
            let report: KnowledgeBaseMaintenance.Report
            do {
                report = try KnowledgeBaseMaintenance.verify(directory: dataDir)
            } catch let error as StoreError {
                throw CLIFailure.failure("verify failed: \(error.message)")
            }
            Console.out(report.summary + "\n")
            if !report.ok { throw ExitCode(ExitStatus.failure) }
        }
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
        try await CommandRunner.run {
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
                    throw CLIFailure.failure("cannot write \(output)")
                }
                handle = h
            } else {
                handle = FileHandle.standardOutput
            }
            let lines: Int
            do {
                lines = try KnowledgeBaseMaintenance.export(directory: dataDir, to: handle)
            } catch let error as StoreError {
                throw CLIFailure.failure("export failed: \(error.message)")
            }
            if output != nil { try? handle.close() }
            Console.err("exported \(lines) lines\n")
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import JSON Lines made by `kato export` into a data directory (offline, one transaction)."
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The data directory (created when missing).", valueName: "dir"))
    var dataDir: String

    @Flag(help: "Replace nodes that already exist instead of refusing.")
    var replace = false

    @Flag(inversion: .prefixedNo, help: "Show progress on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @Argument(help: "The JSON Lines file (- or nothing for stdin).")
    var file: String = "-"

    func run() async throws {
        try await CommandRunner.run {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = FileManager.default.contents(atPath: file) else { throw CLIFailure.failure("cannot read \(file)") }
                data = d
            }
            let lines = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let meter = ProgressMeter(label: "importing \(lines) lines into \(dataDir)", live: progress ?? (isatty(STDERR_FILENO) == 1))
            let (directory, replace) = (dataDir, self.replace)
            let result: Result<Int, StoreError> = await meter.run {
                Result { () throws(StoreError) in try KnowledgeBaseMaintenance.importLines(data, into: directory, replace: replace) }
            }
            switch result {
            case .success(let patterns): Console.err("imported \(patterns) patterns (\(lines) lines)\n")
            case .failure(let error): throw CLIFailure.failure("import failed: \(error.message)")
            }
        }
    }
}

/// Runs blocking work on a thread of its own while stderr shows the elapsed time (a spinner
/// on a terminal; start and end lines otherwise).
struct ProgressMeter {
    let label: String
    let live: Bool

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        let start = ContinuousClock.now
        let (done, finish) = AsyncStream<T>.makeStream()
        Thread { finish.yield(work()); finish.finish() }.start()
        if !live { Console.err(label + " …\n") }
        let ticker = Task {
            let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
            var i = 0
            while live && !Task.isCancelled {
                let d = ContinuousClock.now - start
                let elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                Console.err("\r\(frames[i % frames.count]) \(label) \(String(format: "%.1f", elapsed))s")
                i += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        var result: T?
        for await value in done { result = value }
        ticker.cancel()
        if live { Console.err("\r\u{1B}[2K") }
        return result!
    }
}
