import ArgumentParser
import Foundation
import KatoPostgres
import KatoServer
import Logging

/// `kato-server migrate-postgres --postgres URL`: creates or migrates kato's schema in
/// PostgreSQL and exits (replicas also do it at start-up, under the same advisory lock).
/// Errors are one line for the operator, without the password; exit 2.
struct MigratePostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-postgres", abstract: "Create or migrate kato's schema in PostgreSQL, then exit.")
    @Option(help: "postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=…] (KATO_POSTGRES).") var postgres: String?

    func run() async throws {
        guard let url = postgres ?? ProcessInfo.processInfo.environment["KATO_POSTGRES"], !url.isEmpty else {
            Self.fail("--postgres URL (or KATO_POSTGRES) is required")
        }
        var logger = Logger(label: "kato-server")
        logger.logLevel = .error
        do {
            let settings = try PostgresSettings(url: url)
            let (applied, version) = try await PostgresAdmin.migrate(settings, logger: logger)
            print(applied.isEmpty
                ? "\(settings): schema version \(version), nothing to do"
                : "\(settings): applied migrations \(applied.map(String.init).joined(separator: ", ")); schema version \(version)")
        } catch {
            Self.fail(error.description)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("kato-server migrate-postgres: \(message)\n".utf8))
        Foundation.exit(2)
    }
}

extension KatoServerCommand {
    /// Opens the shared knowledge base (migrating the schema, loading every node) or exits with
    /// one clear line: a wrong URL, an unreachable server or bad credentials never hang start-up.
    static func openPostgres(
        _ url: String, poolSize: Int, _ configuration: KatoServerApp.Configuration, logger: Logger
    ) async throws -> PostgresKnowledgeStore {
        do {
            let settings = try PostgresSettings(url: url)
            let store = try await PostgresKnowledgeStore.open(
                settings, poolSize: poolSize, breaker: configuration.store.breaker, logger: logger)
            let (duration, patterns) = store.loadStatistics.withLock { $0 }
            logger.info("knowledge base loaded from PostgreSQL", metadata: [
                "postgres": "\(settings)", "nodes": "\(store.nodeIDs.count)", "patterns": "\(patterns)",
                "load": "\(duration)", "pool_size": "\(poolSize)",
            ])
            return store
        } catch {
            FileHandle.standardError.write(Data("kato-server: \(error.description)\n".utf8))
            Foundation.exit(2)
        }
    }
}
