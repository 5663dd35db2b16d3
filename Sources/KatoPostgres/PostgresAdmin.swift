import Logging
import NIOCore
import PostgresNIO

/// Operator actions on kato's PostgreSQL that need no running server.
public enum PostgresAdmin {
    /// Opens one connection to `settings` (bounded by its connect timeout) or explains why not.
    public static func connect(_ settings: PostgresSettings, logger: Logger) async throws(PostgresSetupError) -> PostgresConnection {
        let configuration = try settings.connectionConfiguration()
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw PostgresSetupError.explain(error, settings)
        }
    }

    /// Creates or migrates kato's schema (safe while other replicas start or serve); returns
    /// (versions applied, the schema version now).
    public static func migrate(_ settings: PostgresSettings, logger: Logger) async throws(PostgresSetupError) -> (applied: [Int], version: Int) {
        let connection = try await connect(settings, logger: logger)
        do {
            let applied = try await PostgresSchema.migrate(connection, logger: logger)
            try? await connection.close()
            return (applied, PostgresSchema.latestVersion)
        } catch {
            try? await connection.close()
            throw PostgresSetupError.explain(error, settings)
        }
    }

    /// Connections PostgreSQL gives ordinary users: `max_connections − superuser_reserved_connections`.
    public static func connectionBudget(_ settings: PostgresSettings, logger: Logger) async throws(PostgresSetupError) -> Int {
        let connection = try await connect(settings, logger: logger)
        do {
            var budget = 0
            for try await n in try await connection.query("""
                SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                """, logger: logger).decode(Int.self) { budget = n }
            try? await connection.close()
            return budget
        } catch {
            try? await connection.close()
            throw PostgresSetupError.explain(error, settings)
        }
    }

    /// Connections one replica may hold: the knowledge-base pool, the session pool, LISTEN, and
    /// the session batch lanes' own connections (one by default, `SessionBatch.swift`).
    public static func connectionsPerReplica(poolSize: Int) -> Int {
        2 * poolSize + 1 + PostgresSessionStore.lanes(poolSize: poolSize)
    }
}
