import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO

/// The statements that write a node's rows (`kb_patterns`, `kb_symbol_emotives`, `kb_changes`,
/// `kb_nodes`) and announce a new version: shared by writes (``ReplicatedNode``) and imports.
enum KnowledgeBaseRows {
    /// Upserts the image's patterns and symbol sums, `batch` rows a statement (arrays unnested
    /// by PostgreSQL): an import of 1,000,000 patterns is 200 round trips, not a million.
    static func write(_ image: DurableImage, node: String, _ conn: PostgresConnection, logger: Logger) async throws {
        var start = 0
        while start < image.patterns.count {
            let rows = image.patterns[start..<min(start + batch, image.patterns.count)]
            start += rows.count
            var ids: [Int64] = [], names: [String] = [], frequencies: [Int64] = [], lengths: [Int32] = []
            var events: [ByteBuffer] = [], emotives: [ByteBuffer] = [], hasEmotives: [Bool] = [], metadata: [ByteBuffer] = []
            for row in rows {
                let c = ReplicationRecords.columns(of: row.pattern)
                ids.append(Int64(row.id)); names.append(row.pattern.name)
                frequencies.append(Int64(row.pattern.frequency)); lengths.append(Int32(row.pattern.length))
                events.append(ByteBuffer(bytes: c.events)); metadata.append(ByteBuffer(bytes: c.metadata))
                // bytea[] elements cannot be NULL here: a flag array says which emotives are.
                emotives.append(ByteBuffer(bytes: c.emotives ?? [])); hasEmotives.append(c.emotives != nil)
            }
            try await conn.checkedQuery("""
                INSERT INTO kb_patterns (node_id, id, name, frequency, length, events, emotives, metadata)
                SELECT \(node), id, name, frequency, length, events, CASE WHEN has_emotives THEN emotives END, metadata
                FROM unnest(\(ids)::bigint[], \(names)::text[], \(frequencies)::bigint[], \(lengths)::int4[],
                            \(events)::bytea[], \(emotives)::bytea[], \(hasEmotives)::bool[], \(metadata)::bytea[])
                     AS t(id, name, frequency, length, events, emotives, has_emotives, metadata)
                ON CONFLICT (node_id, id) DO UPDATE
                SET frequency = EXCLUDED.frequency, emotives = EXCLUDED.emotives, metadata = EXCLUDED.metadata
                """, logger: logger)
        }
        let symbols = Array(image.symbolEmotives)
        start = 0
        while start < symbols.count {
            let chunk = symbols[start..<min(start + batch, symbols.count)]
            start += chunk.count
            let names = chunk.map(\.0)
            let sums = chunk.map { ByteBuffer(bytes: ReplicationRecords.encode(emotiveSums: $0.1)) }
            try await conn.checkedQuery("""
                INSERT INTO kb_symbol_emotives (node_id, name, emotives)
                SELECT \(node), name, emotives FROM unnest(\(names)::text[], \(sums)::bytea[]) AS t(name, emotives)
                ON CONFLICT (node_id, name) DO UPDATE SET emotives = EXCLUDED.emotives
                """, logger: logger)
        }
    }

    /// Rows per statement of ``write``: PostgreSQL's 1 GB message limit is far off (a pattern
    /// row is a few hundred bytes) and a batch stays one short statement.
    static let batch = 5_000

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
