import Foundation
import KatoEngine
import KatoStore
import Logging
import NIOCore
import PostgresNIO

/// Reading a node's knowledge base out of PostgreSQL (a joining replica's start-up, a reload, an
/// import's "replaced" record, `verify`): the rows come in chunks of ``chunkRows`` ids, each chunk
/// one row of six arrays (`array_agg` of each column), so postgres-nio decodes a few dozen rows
/// instead of a million and the columns' bytes go from the arrays' buffers straight into the
/// loader — no `String`, array or `ByteBuffer` per pattern. At start-up the chunks' queries run
/// on two connections, each connection's back to back, while this task decodes: PostgreSQL's
/// array building (its larger part of a join) overlaps the decoding and itself.
/// Every chunk is read in one snapshot (REPEATABLE READ; exported to the other connection), as
/// one query was.
extension PostgresKnowledgeStore {
    /// Pattern ids per chunk: 65,536 (1M patterns are 16 queries of a few MB). A test sets
    /// `KATO_POSTGRES_LOAD_CHUNK_ROWS` small, so that a small knowledge base spans several chunks.
    static let chunkRows: Int64 = {
        if let s = ProcessInfo.processInfo.environment["KATO_POSTGRES_LOAD_CHUNK_ROWS"], let n = Int64(s), n > 0 { return n }
        return 65_536
    }()

    /// Connections a start-up's load reads chunks on (at most the pool's size):
    /// `KATO_POSTGRES_LOAD_CONNECTIONS`, default 2.
    static let loadConnections: Int = {
        if let s = ProcessInfo.processInfo.environment["KATO_POSTGRES_LOAD_CONNECTIONS"], let n = Int(s), n > 0 { return n }
        return 2
    }()

    /// The node's knowledge base and the version it is at, read in one snapshot.
    /// `inTransaction`: the caller's transaction holds the node's row lock (no writer can run).
    /// `others`: more idle connections (a start-up's): chunks are then queried on all of them in
    /// turn, in the same snapshot (`pg_export_snapshot`), so several PostgreSQL backends build
    /// arrays while this task decodes — PostgreSQL's part no longer runs one chunk at a time.
    static func load(
        _ nodeID: String, _ conn: PostgresConnection, others: [PostgresConnection] = [], inTransaction: Bool = false,
        logger: Logger
    ) async throws -> (KnowledgeBaseLoader, Int64) {
        let others = inTransaction ? [] : others
        var connections = [conn]
        let clock = ContinuousClock()
        let started = clock.now
        if !inTransaction { try await conn.checkedQuery("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) }
        do {
            if !others.isEmpty {
                let snapshot = try await exportSnapshot(conn, logger: logger)
                for other in others {
                    try await importSnapshot(snapshot, other, logger: logger)
                    connections.append(other)
                }
            }
            if !inTransaction {
                for c in connections { try await c.checkedQuery(rangeScanOnly, logger: logger) }
            }
            var version: Int64 = 0
            for try await v in try await conn.checkedQuery("SELECT version FROM kb_nodes WHERE node_id = \(nodeID)", logger: logger)
                .decode(Int64.self) { version = v }
            // One past the highest id (the primary key's last entry, not a count of the rows).
            var end: Int64 = 0
            for try await n in try await conn.checkedQuery(
                "SELECT coalesce(max(id) + 1, 0) FROM kb_patterns WHERE node_id = \(nodeID)", logger: logger
            ).decode(Int64.self) { end = n }
            // Deleted patterns' ids (tombstones) go in place between the rows.
            var tombstones: [Int64] = []
            for try await id in try await conn.checkedQuery(
                "SELECT id FROM kb_deleted_patterns WHERE node_id = \(nodeID) ORDER BY id", logger: logger
            ).decode(Int64.self) { tombstones.append(id) }
            var builder = ReplicationRecords.LoaderBuilder(expectedPatterns: Int(max(end, (tombstones.last ?? -1) + 1)))
            var nextTombstone = 0
            // Chunk k is read on connection k % n: each connection runs its chunks' queries one
            // after the other, as fast as PostgreSQL answers (not when this task gets to them),
            // and this task decodes them in id order.
            let n = connections.count
            let chunks = Int((end + chunkRows - 1) / chunkRows)
            // A reader runs at most `ahead` chunks ahead of the decoding (a credit per chunk):
            // memory holds a few chunks, not the whole knowledge base, when PostgreSQL is faster.
            let ahead = 2
            var streams: [AsyncThrowingStream<PatternChunk, any Error>] = []
            var grants: [AsyncStream<Void>.Continuation] = []
            var readers: [Task<Void, Never>] = []
            for (i, c) in connections.enumerated() {
                let (stream, continuation) = AsyncThrowingStream<PatternChunk, any Error>.makeStream()
                let (credits, grant) = AsyncStream<Void>.makeStream()
                for _ in 0..<ahead { grant.yield() }
                streams.append(stream)
                grants.append(grant)
                readers.append(Task {
                    var credit = credits.makeAsyncIterator()
                    var j = i
                    // No credit left and none to come: the load failed (see below), stop.
                    while j < chunks, await credit.next() != nil {
                        do {
                            continuation.yield(try await fetch(nodeID, from: Int64(j) * chunkRows, c, logger: logger))
                        } catch {
                            continuation.finish(throwing: error)
                            return
                        }
                        j += n
                    }
                    continuation.finish()
                })
            }
            var iterators = streams.map { $0.makeAsyncIterator() }
            var waited = Duration.zero
            do {
                for k in 0..<chunks {
                    let asked = clock.now
                    guard let chunk = try await iterators[k % n].next() else {
                        throw PatternChunk.Malformed(description: "chunk \(k) of the patterns is missing")
                    }
                    waited += clock.now - asked
                    grants[k % n].yield()
                    try chunk.decode { id in
                        while nextTombstone < tombstones.count && tombstones[nextTombstone] < id {
                            try builder.appendDeleted(id: tombstones[nextTombstone])
                            nextTombstone += 1
                        }
                    } append: { id, name, frequency, events, emotives, metadata in
                        try builder.append(id: id, name: name, frequency: frequency, events: events, emotives: emotives, metadata: metadata)
                    }
                }
            } catch {
                // Queries still running must finish before their connections are used again.
                for g in grants { g.finish() }
                for r in readers { await r.value }
                throw error
            }
            // Every reader has delivered its last chunk; it is done with its connection.
            for g in grants { g.finish() }
            for r in readers { await r.value }
            for id in tombstones[nextTombstone...] { try builder.appendDeleted(id: id) }
            for try await (name, sums) in try await conn.checkedQuery(
                "SELECT name, emotives FROM kb_symbol_emotives WHERE node_id = \(nodeID) ORDER BY name", logger: logger
            ).decode((String, ByteBuffer).self) {
                try builder.setSymbolEmotives(name, Array(sums.readableBytesView))
            }
            if !inTransaction {
                for c in connections { try await c.checkedQuery("COMMIT", logger: logger) }
            }
            let read = clock.now
            let loader = try builder.finish()
            // Where a start-up's seconds go (docs/SCALING.md "A replica joining").
            logger.info("knowledge base read from PostgreSQL", metadata: [
                "node_id": "\(nodeID)", "patterns": "\(loader.patternCount)", "chunks": "\(chunks)",
                "connections": "\(connections.count)", "read": "\(read - started)",
                "waited_for_postgres": "\(waited)", "index_finish": "\(clock.now - read)",
            ])
            return (loader, version)
        } catch {
            if !inTransaction {
                // All of `others`: one may have failed half-way into its transaction (ROLLBACK
                // outside one is a warning only).
                for c in [conn] + others { _ = try? await c.checkedQuery("ROLLBACK", logger: logger) }
            }
            throw error
        }
    }

    /// Each chunk read by an index scan of the primary key's id range, which returns the rows in
    /// id order: with the table's statistics (after ANALYZE) PostgreSQL 15 plans a bitmap heap
    /// scan — parallel at times — plus a sort of the chunk that spills to disk at the default
    /// `work_mem` (measured, 1M patterns: 1.25 s of the backend's CPU plus its workers', vs
    /// 0.9–1.1 s). Local to the load's own transaction (`set_config(…, true)` = `SET LOCAL`);
    /// a load inside a writer's transaction (a rare reload) keeps the writer's plan settings.
    private static let rangeScanOnly: PostgresQuery = """
        SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true),
               set_config('max_parallel_workers_per_gather', '0', true)
        """

    /// The snapshot of `conn`'s REPEATABLE READ transaction (which has run no query yet).
    private static func exportSnapshot(_ conn: PostgresConnection, logger: Logger) async throws -> String {
        var id = ""
        for try await s in try await conn.checkedQuery("SELECT pg_export_snapshot()", logger: logger).decode(String.self) { id = s }
        // SET TRANSACTION SNAPSHOT takes no parameter: the id goes in literally, checked here
        // (PostgreSQL's ids are hex digits and dashes).
        guard !id.isEmpty, id.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) })
        else { throw PatternChunk.Malformed(description: "unexpected snapshot id from PostgreSQL: \(id)") }
        return id
    }

    /// Starts a read-only transaction on `conn` that sees exactly the exported `snapshot`.
    private static func importSnapshot(_ snapshot: String, _ conn: PostgresConnection, logger: Logger) async throws {
        try await conn.checkedQuery("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
        try await conn.checkedQuery(PostgresQuery(unsafeSQL: "SET TRANSACTION SNAPSHOT '\(snapshot)'"), logger: logger)
    }

    /// The patterns with ids `from ..< from + chunkRows`.
    private static func fetch(_ nodeID: String, from: Int64, _ conn: PostgresConnection, logger: Logger) async throws -> PatternChunk {
        let to = from + chunkRows
        var chunk = PatternChunk()
        // The subquery's index scan gives the aggregates their order; decode checks that
        // ids are dense and ascending, so another order would fail the load, never skew it.
        for try await row in try await conn.checkedQuery("""
            SELECT array_agg(id), array_agg(name), array_agg(frequency), array_agg(events), array_agg(emotives), array_agg(metadata)
            FROM (SELECT id, name, frequency, events, emotives, metadata FROM kb_patterns
                  WHERE node_id = \(nodeID) AND id >= \(from) AND id < \(to) ORDER BY id) AS chunk
            """, logger: logger
        ).decode((ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?).self) {
            chunk.columns = [row.0, row.1, row.2, row.3, row.4, row.5]
        }
        return chunk
    }
}

/// One chunk's six columns, each a PostgreSQL array in its binary form (`array_send`): ndim,
/// has-nulls flag, element type, then per dimension its size and lower bound, then per element
/// a 4-byte length (-1 for NULL) and its bytes (bigint: 8 bytes big endian; text, bytea: as is).
struct PatternChunk: Sendable {
    /// id, name, frequency, events, emotives, metadata; nil (every one) for a chunk of no rows.
    var columns: [ByteBuffer?] = []

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// Calls `before(id)` then `append` for each row, in order.
    func decode(
        before: (Int64) throws -> Void,
        append: (Int64, UnsafeRawBufferPointer, Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer?, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard columns.count == 6, columns.allSatisfy({ $0 != nil }) else {
            guard columns.allSatisfy({ $0 == nil }) else { throw Malformed(description: "a chunk of patterns with a column missing") }
            return
        }
        var arrays = try columns.map { try ArrayReader($0!) }
        let count = arrays[0].count
        guard arrays.allSatisfy({ $0.count == count }) else { throw Malformed(description: "a chunk's columns differ in length") }
        for _ in 0..<count {
            guard let id = Self.bigint(try arrays[0].next()),
                  let name = try arrays[1].next(),
                  let frequency = Self.bigint(try arrays[2].next()),
                  let events = try arrays[3].next(),
                  let metadata = try arrays[5].next()
            else { throw Malformed(description: "a pattern row with a NULL or malformed column") }
            let emotives = try arrays[4].next()
            try before(id)
            try name.withUnsafeReadableBytes { n in
                try events.withUnsafeReadableBytes { e in
                    try metadata.withUnsafeReadableBytes { m in
                        if let emotives {
                            try emotives.withUnsafeReadableBytes { try append(id, n, Int(frequency), e, $0, m) }
                        } else {
                            try append(id, n, Int(frequency), e, nil, m)
                        }
                    }
                }
            }
        }
    }

    /// A bigint element (8 bytes, big endian).
    static func bigint(_ element: ByteBuffer?) -> Int64? {
        guard let element, element.readableBytes == 8 else { return nil }
        return element.getInteger(at: element.readerIndex, as: Int64.self)
    }

    /// The elements of one binary array, in order.
    struct ArrayReader {
        var buffer: ByteBuffer
        let count: Int

        init(_ array: ByteBuffer) throws(Malformed) {
            buffer = array
            guard let ndim = buffer.readInteger(as: Int32.self), buffer.readInteger(as: Int32.self) != nil,
                  buffer.readInteger(as: UInt32.self) != nil, ndim == 1,
                  let size = buffer.readInteger(as: Int32.self), buffer.readInteger(as: Int32.self) != nil, size >= 0
            else { throw Malformed(description: "a chunk's column is not a one-dimensional array") }
            count = Int(size)
        }

        /// The next element's bytes, nil for NULL.
        mutating func next() throws(Malformed) -> ByteBuffer? {
            guard let length = buffer.readInteger(as: Int32.self) else { throw Malformed(description: "a chunk's array ends early") }
            if length < 0 { return nil }
            guard let element = buffer.readSlice(length: Int(length)) else { throw Malformed(description: "a chunk's array ends early") }
            return element
        }
    }
}
