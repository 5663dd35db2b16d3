import ArgumentParser
import KatoServer

/// `kato-server bench-handover-sessions` (hidden): the hand-over's session path per session at
/// several sizes (`make bench-handover`, docs/BENCHMARKS.md "Restart by hand-over").
struct HandOverBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-handover-sessions", abstract: "Hand-over session path, µs per session.", shouldDisplay: false)
    @Option(help: "Session counts to measure (repeatable).") var sessions: [Int] = [10_000, 100_000]

    func run() async throws {
        for n in sessions { print(try SessionHandOverBenchmark.perSession(sessions: n)) }
    }
}
