import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO

/// The statements that write a node's rows (`kb_patterns`, `kb_symbol_emotives`, `kb_changes`,
/// `kb_nodes`) and announce a new version: shared by writes (``ReplicatedNode``) and imports.
enum KnowledgeBaseRows {
    /// Upserts the image's patterns and symbol sums.
    static func write(_ image: DurableImage, node: String, _ conn: PostgresConnection, logger: Logger) async throws {
        for row in image.patterns {
            let c = ReplicationRecords.columns(of: row.pattern)
            try await conn.checkedQuery("""
                INSERT INTO kb_patterns (node_id, id, name, frequency, length, events, emotives, metadata)
                VALUES (\(node), \(Int64(row.id)), \(row.pattern.name), \(Int64(row.pattern.frequency)),
                        \(Int32(row.pattern.length)), \(ByteBuffer(bytes: c.events)), \(c.emotives.map { ByteBuffer(bytes: $0) }),
                        \(ByteBuffer(bytes: c.metadata)))
                ON CONFLICT (node_id, id) DO UPDATE
                SET frequency = EXCLUDED.frequency, emotives = EXCLUDED.emotives, metadata = EXCLUDED.metadata
                """, logger: logger)
        }
        for (symbol, sums) in image.symbolEmotives {
            try await conn.checkedQuery("""
                INSERT INTO kb_symbol_emotives (node_id, name, emotives)
                VALUES (\(node), \(symbol), \(ByteBuffer(bytes: ReplicationRecords.encode(emotiveSums: sums))))
                ON CONFLICT (node_id, name) DO UPDATE SET emotives = EXCLUDED.emotives
                """, logger: logger)
        }
    }

    /// Deletes every pattern and symbol sum of the node (its version and change log stay).
    static func clear(node: String, _ conn: PostgresConnection, logger: Logger) async throws {
        try await conn.checkedQuery("DELETE FROM kb_patterns WHERE node_id = \(node)", logger: logger)
        try await conn.checkedQuery("DELETE FROM kb_symbol_emotives WHERE node_id = \(node)", logger: logger)
        // And the deleted patterns' tombstones: ids start at 0 again.
        try await conn.checkedQuery("DELETE FROM kb_deleted_patterns WHERE node_id = \(node)", logger: logger)
    }

    /// Deletes the pattern named `name` (bare hash): its row goes, its id stays as a tombstone, and
    /// its symbols' emotive sums become `sums(symbol)` (nil or empty: the row goes) — what the
    /// knowledge base holds after the deletion. Throws if the node has no such row (memory and
    /// PostgreSQL disagree: the transaction rolls back and the node reloads).
    static func deletePattern(named name: String, node: String, sums: (String) -> [String: Double]?,
                              _ conn: PostgresConnection, logger: Logger) async throws {
        var deleted: (Int64, ByteBuffer)?
        for try await row in try await conn.checkedQuery(
            "DELETE FROM kb_patterns WHERE node_id = \(node) AND name = \(name) RETURNING id, events", logger: logger
        ).decode((Int64, ByteBuffer).self) { deleted = row }
        guard let (id, events) = deleted else {
            throw StoreError(.corrupt, "node '\(node)': pattern \(name) was deleted in memory but has no row in PostgreSQL")
        }
        try await conn.checkedQuery("INSERT INTO kb_deleted_patterns (node_id, id) VALUES (\(node), \(id))", logger: logger)
        for symbol in try ReplicationRecords.symbols(ofEvents: Array(events.readableBytesView)).sorted() {
            if let now = sums(symbol), !now.isEmpty {
                try await conn.checkedQuery("""
                    INSERT INTO kb_symbol_emotives (node_id, name, emotives)
                    VALUES (\(node), \(symbol), \(ByteBuffer(bytes: ReplicationRecords.encode(emotiveSums: now))))
                    ON CONFLICT (node_id, name) DO UPDATE SET emotives = EXCLUDED.emotives
                    """, logger: logger)
            } else {
                try await conn.checkedQuery(
                    "DELETE FROM kb_symbol_emotives WHERE node_id = \(node) AND name = \(symbol)", logger: logger)
            }
        }
    }

    /// Appends `records` as versions `after+1…`, sets the node's version to the last, and
    /// notifies the replicas (`VERSION:NODE`; payloads are limited to 8000 bytes, so a node id too
    /// long for one is found by the replicas' poll instead). The caller holds the node's row lock.
    static func commitVersions(_ records: [[UInt8]], after version: Int64, node: String, _ conn: PostgresConnection, logger: Logger) async throws {
        for (i, record) in records.enumerated() {
            try await conn.checkedQuery("""
                INSERT INTO kb_changes (node_id, version, change)
                VALUES (\(node), \(version + Int64(i) + 1), \(ByteBuffer(bytes: record)))
                """, logger: logger)
        }
        let next = version + Int64(records.count)
        try await conn.checkedQuery("""
            INSERT INTO kb_nodes (node_id, version) VALUES (\(node), \(next))
            ON CONFLICT (node_id) DO UPDATE SET version = EXCLUDED.version
            """, logger: logger)
        let payload = "\(next):\(node)"
        if payload.utf8.count < 7900 {
            try await conn.checkedQuery("SELECT pg_notify(\(PostgresKnowledgeStore.channel), \(payload))", logger: logger)
        }
    }
}
