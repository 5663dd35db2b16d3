import ArgumentParser
import Foundation
import KatoPostgres
import Logging

/// TEST ONLY (hidden): `kato-server test-postgres-query-race --postgres URL` — queries on a
/// connection closed under them must end, never hang (KatoPostgres/PostgresQueryRace.swift).
/// Prints one JSON line; exit 1 when a query hung.
struct PostgresQueryRaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test-postgres-query-race", shouldDisplay: false)
    @Option var postgres: String
    @Option var rounds = 200
    @Option var senders = 8
    @Flag(help: "Check off the event loop (the old form of checkedQuery).") var racy = false

    func run() async throws {
        var logger = Logger(label: "kato-server")
        logger.logLevel = .critical
        let r = try await PostgresQueryRace.run(try PostgresSettings(url: postgres), rounds: rounds, senders: senders,
                                                 checked: !racy, logger: logger)
        print("{\"rounds\": \(r.rounds), \"queries\": \(r.queries), \"failed\": \(r.failed), \"hung\": \(r.hung)}")
        if r.hung > 0 { throw ExitCode(1) }
    }
}
