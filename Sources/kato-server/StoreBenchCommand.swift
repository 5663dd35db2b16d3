import ArgumentParser
import Foundation
import KatoServer

/// `kato-server bench-store` (hidden): the store benchmarks of docs/BENCHMARKS.md.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-store", abstract: "Store benchmarks.", shouldDisplay: false)
    @Option(name: .customLong("data-dir")) var dataDir: String
    @Option var writers = 64
    @Option var learns = 100_000
    @Option(help: "Fill the directory with this many patterns, then time opening it.") var startupPatterns: Int?

    func run() async throws {
        if let n = startupPatterns {
            let fillStart = ContinuousClock.now
            try await StoreTools.benchmarkFill(directory: dataDir, patterns: n)
            print("filled \(n) patterns in \(ContinuousClock.now - fillStart)")
            for _ in 0..<3 {
                let (d, count) = try StoreTools.benchmarkOpen(directory: dataDir)
                print("open+load+index of \(count) patterns: \(d)")
            }
        } else {
            let (rate, batch) = try await StoreTools.benchmarkLearns(directory: dataDir, writers: writers, learns: learns)
            print(String(format: "durable learns: %.0f/s with %d concurrent writers (mean %.1f learns per fsync'd batch)", rate, writers, batch))
        }
    }
}
