import Foundation
import KatoPostgres
import KatoEngine
import KatoStore
import Logging

/// The offline tools against the knowledge base in PostgreSQL (docs/SCALING.md, "Moving in").
extension StoreTools {
    /// Imports an export (of a data directory or of PostgreSQL) into PostgreSQL in one transaction.
    public static func importLines(
        _ data: Data, intoPostgres url: String, replace: Bool, logger: Logger
    ) async throws(StoreToolError) -> Int {
        let nodes: [(String, KnowledgeBaseSnapshot)]
        do {
            nodes = try KnowledgeBaseMaintenance.parseExport(data)
        } catch {
            throw StoreToolError(message: error.message)
        }
        do {
            let settings = try PostgresSettings(url: url)
            return try await PostgresAdmin.importNodes(nodes, into: settings, replace: replace, logger: logger)
        } catch {
            throw StoreToolError(message: error.description)
        }
    }

    /// (passed, report text) for the knowledge base in PostgreSQL.
    public static func verify(postgres url: String, logger: Logger) async throws(StoreToolError) -> (Bool, String) {
        do {
            let report = try await PostgresAdmin.verify(try PostgresSettings(url: url), logger: logger)
            return (report.ok, report.summary)
        } catch {
            throw StoreToolError(message: error.description)
        }
    }
}
