import ArgumentParser
import Foundation
import GRPCH2
import KatoClient
import KatoProto

/// `kato predict --session S [--watch]`: the top predictions as a table; with --watch, a
/// table refreshed on every PredictionUpdate of SubscribePredictions.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Show a session's predictions; --watch follows them live.",
        discussion: """
            --watch subscribes to SubscribePredictions and redraws the table after every change of
            the session's STM (whoever made it), clearing the terminal (ANSI) when stdout is one.
            It ends after --max-updates updates, at --max-time (exit 0), or on Ctrl-C.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: SessionOptions

    @Flag(help: "Follow the predictions live (SubscribePredictions).")
    var watch = false

    @Option(name: .customLong("max-updates"), help: ArgumentHelp("With --watch: stop after this many updates.", valueName: "n"))
    var maxUpdates: Int?

    @Option(help: ArgumentHelp("How many predictions to show.", valueName: "n"))
    var top: Int = 10

    @Flag(inversion: .prefixedNo, help: "Clear the screen before each --watch update (default: when stdout is a terminal).")
    var clear: Bool?

    func run() async throws {
        try await CommandRunner.run {
            if !watch {
                try await connection.withKatoClient { client in
                    let r = try await target.resolve(client).predictions()
                    Console.out(Self.table(r.predictions, top: top))
                }
                return
            }
            var watchOptions = connection
            let deadline = connection.deadline()
            watchOptions.maxTime = nil
            try await watchOptions.withKatoClient { client in
                let session = try target.resolve(client)
                let clearScreen = clear ?? (isatty(STDOUT_FILENO) == 1)
                let (maxUpdates, top) = (self.maxUpdates, self.top)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var count = 0
                        for try await update in try await session.subscribe(sendInitial: true) {
                            count += 1
                            let separator = clearScreen ? "\u{1B}[H\u{1B}[2J" : (count > 1 ? "\n" : "")
                            Console.out(separator + Self.render(update, top: top))
                            if let maxUpdates, count >= maxUpdates { return }
                        }
                    }
                    if let deadline {
                        group.addTask {
                            try await Task.sleep(until: deadline)
                        }
                    }
                    do {
                        try await group.next()
                    } catch let error as RPCError where error.code == .cancelled {}
                    group.cancelAll()
                }
            }
        }
    }

    static func render(_ u: Kato_V2_PredictionUpdate, top: Int) -> String {
        var out = "session \(u.sessionID)  update #\(u.sequence) (\(cause(u.cause)))  time \(u.time)\n"
        out += "STM: " + (u.stm.isEmpty ? "(empty)" : u.stm.map { "[" + $0.symbols.joined(separator: ", ") + "]" }.joined(separator: " ")) + "\n\n"
        return out + table(u.predictions, top: top)
    }

    static func cause(_ c: Kato_V2_UpdateCause) -> String {
        switch c {
        case .unspecified: "unspecified"
        case .initial: "initial"
        case .observe: "observe"
        case .learn: "learn"
        case .autoLearn: "auto-learn"
        case .clearStm: "clear STM"
        case .clearAll: "clear all"
        case .gap: "gap (missed updates; the state now)"
        case .UNRECOGNIZED(let n): "cause \(n)"
        }
    }

    /// The top predictions, aligned in columns.
    static func table(_ predictions: [Kato_V2_Prediction], top: Int) -> String {
        guard !predictions.isEmpty else { return "no predictions\n" }
        var rows = [["#", "PATTERN", "POTENTIAL", "SIMILARITY", "CONFIDENCE", "FREQ", "MATCHES", "FUTURE"]]
        for (i, p) in predictions.prefix(top).enumerated() {
            rows.append([
                "\(i + 1)", String(p.name.prefix(12)), String(format: "%.4f", p.potential), String(format: "%.4f", p.similarity),
                String(format: "%.4f", p.confidence), "\(p.frequency)", p.matches.joined(separator: " "),
                p.future.map { "[" + $0.symbols.joined(separator: " ") + "]" }.joined(separator: " "),
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            out += row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ") + "\n"
        }
        if predictions.count > top { out += "… \(predictions.count - top) more\n" }
        return out
    }
}
