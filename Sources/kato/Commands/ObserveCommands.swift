import ArgumentParser
import KatoClient
import KatoProto

/// `kato observe --session S a b c`: one observation of string symbols.
struct ObserveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observe",
        abstract: "Observe one event of string symbols (and emotives) in a session's STM."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: SessionOptions

    @Option(name: .customLong("emotive"), help: ArgumentHelp("An emotive, NAME=VALUE (repeatable).", valueName: "name=value"))
    var emotives: [String] = []

    @Argument(help: "The symbols of the event.")
    var symbols: [String] = []

    func validate() throws {
        for e in emotives where e.split(separator: "=", maxSplits: 1).count != 2 || Double(e.split(separator: "=", maxSplits: 1)[1]) == nil {
            throw ValidationError("--emotive expects NAME=NUMBER, got '\(e)'")
        }
    }

    func run() async throws {
        try await CommandRunner.run {
            try await connection.withKatoClient { client in
                let session = try target.resolve(client)
                var values: [String: Double] = [:]
                for e in emotives {
                    let parts = e.split(separator: "=", maxSplits: 1)
                    values[String(parts[0])] = Double(parts[1])!
                }
                let r = try await session.observe(symbols, emotives: values)
                var out = "observed [\(r.symbols.joined(separator: ", "))]: stm_length=\(r.stmLength) time=\(r.time)\n"
                if !r.autoLearnedPattern.isEmpty { out += "auto-learned \(r.autoLearnedPattern)\n" }
                if r.autoLearnSkipped { out += "auto-learn skipped (server degraded)\n" }
                Console.out(out)
            }
        }
    }
}

/// `kato learn --session S`: learns the STM; prints the pattern name.
struct LearnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Learn the session's STM as a pattern; prints PTRN|<sha1>."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: SessionOptions

    func run() async throws {
        try await CommandRunner.run {
            try await connection.withKatoClient { client in
                let name = try await target.resolve(client).learn()
                if name.isEmpty {
                    Console.err("nothing learned: the STM held fewer than two symbols\n")
                } else {
                    Console.out(name + "\n")
                }
            }
        }
    }
}

/// `kato stm --session S`: the STM, one event per line.
struct STMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stm",
        abstract: "Show the session's short-term memory, one event per line."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: SessionOptions

    @Flag(help: "Empty the STM instead of showing it.")
    var clear = false

    func run() async throws {
        try await CommandRunner.run {
            try await connection.withKatoClient { client in
                let session = try target.resolve(client)
                if clear {
                    try await session.clearSTM()
                    Console.out("cleared\n")
                    return
                }
                let events = try await session.stm()
                if events.isEmpty { Console.err("(empty STM)\n") }
                Console.out(events.map { "[" + $0.joined(separator: ", ") + "]\n" }.joined())
            }
        }
    }
}

/// `kato health [--service S]`: gRPC health; exit 0 when SERVING, 4 otherwise.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check the server's gRPC health (exit 0 when SERVING, 4 when not).",
        discussion: "Like grpc_health_probe: exit code 4 when the server answers but is not serving."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("A service name (default: the whole server).", valueName: "name"))
    var service: String = ""

    func run() async throws {
        try await CommandRunner.run {
            let status = try await connection.withKatoClient { client in try await client.health(service: service) }
            let name: String
            switch status {
            case .unknown: name = "UNKNOWN"
            case .serving: name = "SERVING"
            case .notServing: name = "NOT_SERVING"
            case .serviceUnknown: name = "SERVICE_UNKNOWN"
            case .UNRECOGNIZED(let n): name = "STATUS_\(n)"
            }
            Console.out(name + "\n")
            if status != .serving { throw ExitCode(4) }
        }
    }
}
