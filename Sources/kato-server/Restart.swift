import ArgumentParser
import Foundation
import HandOver
import KatoServer
import KatoStore
import Logging

/// Zero-downtime restart (docs/OPERATIONS.md "Restart and upgrade"): `--take-over` starts a
/// successor of the server owning the data directory; SIGUSR2 makes a running server start its
/// own successor (the same executable path and arguments, so a binary replaced on disk is an
/// upgrade); `kato-server restart` sends that signal and waits for the successor.
extension KatoServerCommand {
    /// The successor's start: hello, preload while the predecessor serves, then the listener,
    /// the changed nodes and the sessions.
    static func takeOver(dataDirectory: String, timeout: Duration, logger: Logger) async throws -> TakenOver {
        do {
            let successor = try await HandOverSuccessor.connect(dataDirectory: dataDirectory, timeout: timeout, logger: logger)
            var preloaded: PreloadedKnowledgeBase?
            do {
                preloaded = try KnowledgeStore.preload(directory: dataDirectory)
                logger.info("knowledge base preloaded", metadata: [
                    "patterns": "\(preloaded!.statistics.patterns)", "preload_ms": "\(preloaded!.statistics.duration.milliseconds)",
                ])
            } catch {
                logger.warning("no preload; the knowledge base loads once the predecessor has released it", metadata: ["reason": "\(error)"])
            }
            return try await successor.takeOver(preloaded: preloaded)
        } catch let e as HandOverProtocolError {
            throw ValidationError("--take-over: \(e)")
        }
    }

    /// The executable to start as successor: argv[0] as given (a path through a symlink that an
    /// upgrade switches stays that path), else this process's executable.
    static let executablePath: String = {
        let argv0 = CommandLine.arguments[0]
        if argv0.contains("/") {
            return URL(fileURLWithPath: argv0, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).path
        }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? argv0
    }()

    /// SIGUSR2: start a successor with this process's arguments plus `--take-over`.
    static func installRestartSignal(logger: Logger) {
        _ = executablePath  // resolved now, before anything changes the working directory
        signal(SIGUSR2, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGUSR2, queue: .main)
        source.setEventHandler {
            var arguments = Array(CommandLine.arguments.dropFirst())
            if !arguments.contains("--take-over") { arguments.append("--take-over") }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executablePath)
            process.arguments = arguments
            do {
                try process.run()
                logger.notice("restart: successor started", metadata: ["pid": "\(process.processIdentifier)", "executable": "\(executablePath)"])
            } catch {
                logger.error("restart: cannot start the successor; still serving", metadata: ["error": "\(error)"])
            }
        }
        source.resume()
        restartSource = source
    }
}

/// Keeps the SIGUSR2 source alive for the life of the process (set once, from `run`).
nonisolated(unsafe) var restartSource: (any DispatchSourceSignal)?

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// `kato-server restart --data-dir D`: signals the server owning D (SIGUSR2) and waits until a
/// successor owns it.
struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart the kato-server owning a data directory without dropping a call (it starts its successor; SIGUSR2).")
    @Option(name: .customLong("data-dir"), help: "Data directory.") var dataDir = "./data"
    @Option(help: "Seconds to wait for the successor.") var timeout = 120.0

    func run() async throws {
        let lockPath = (dataDir as NSString).appendingPathComponent("LOCK")
        func holder() -> Int32? {
            (try? String(contentsOfFile: lockPath, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard let old = holder(), old > 0, kill(old, 0) == 0 else {
            FileHandle.standardError.write(Data("kato-server restart: no running kato-server owns \(dataDir)\n".utf8))
            throw ExitCode(1)
        }
        guard kill(old, SIGUSR2) == 0 else {
            FileHandle.standardError.write(Data("kato-server restart: cannot signal pid \(old): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(1)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            // The successor writes its pid once the predecessor has released the directory (the
            // predecessor may linger as a zombie of its parent: its pid is no sign).
            if let new = holder(), new != old, new > 0, kill(new, 0) == 0 {
                print("restarted: pid \(old) handed over to pid \(new)")
                return
            }
        }
        FileHandle.standardError.write(Data(
            "kato-server restart: no successor took over \(dataDir) within \(timeout) s; see pid \(old)'s log\n".utf8))
        throw ExitCode(1)
    }
}
