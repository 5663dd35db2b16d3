import CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// A SQLite result code that is not success, with SQLite's message.
struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`SQLITE_IOERR_FSYNC`, …); `code & 0xff` is the primary code.
    var extendedCode: Int32
    var message: String

    var primaryCode: Int32 { extendedCode & 0xff }

    /// Busy or locked: another connection holds a lock; retrying later can succeed.
    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED || primaryCode == SQLITE_PROTOCOL }
    /// The file is not a database or its pages are damaged.
    var isCorruption: Bool { primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB }
    var isFull: Bool { primaryCode == SQLITE_FULL }
    var isReadOnly: Bool { primaryCode == SQLITE_READONLY || primaryCode == SQLITE_CANTOPEN || primaryCode == SQLITE_PERM }

    var description: String {
        let name = String(cString: sqlite3_errstr(extendedCode))
        return "\(message) (SQLite \(extendedCode): \(name))"
    }
}

/// One SQLite connection. The only owner of a `sqlite3*`; every unsafe call of the store is in
/// this file. Not `Sendable`: a connection is used by one thread at a time (the store's writer
/// thread, or a maintenance tool).
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// Opens (or creates, unless `readOnly`) the database file at `path`.
    init(path: String, readOnly: Bool = false, create: Bool = true) throws(SQLiteError) {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        flags |= readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            sqlite3_close_v2(db)
            throw SQLiteError(extendedCode: rc, message: "\(message): \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Closes the connection now rather than when the last reference goes (SQLite then
    /// checkpoints the WAL and removes it). A statement still alive keeps the file open until
    /// it is finalized (`sqlite3_close_v2`); any later use of this connection fails with
    /// SQLITE_MISUSE. Idempotent.
    func close() {
        sqlite3_close_v2(handle)
        handle = nil
    }

    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(extendedCode: rc, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw error(rc) }
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return SQLiteStatement(stmt: stmt, database: self)
    }

    /// Runs a statement that returns one integer (e.g. a pragma or `count(*)`).
    func scalarInt(_ sql: String) throws(SQLiteError) -> Int64? {
        let stmt = try prepare(sql)
        return try stmt.step() ? stmt.int(0) : nil
    }

    /// Runs a statement and collects its first column as text, one string per row.
    func textColumn(_ sql: String) throws(SQLiteError) -> [String] {
        let stmt = try prepare(sql)
        var out: [String] = []
        while try stmt.step() { out.append(stmt.text(0)) }
        return out
    }

    /// Sets the busy timeout (ms) during which a locked database is retried inside SQLite.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    fileprivate func check(_ rc: Int32) throws(SQLiteError) {
        if rc != SQLITE_OK { throw error(rc) }
    }

    fileprivate func stepError(_ rc: Int32) -> SQLiteError { error(rc) }
}

/// A compiled statement, owned by this value's object; parameters are 1-based, columns 0-based.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private let database: SQLiteDatabase

    fileprivate init(stmt: OpaquePointer, database: SQLiteDatabase) {
        self.stmt = stmt
        self.database = database
    }

    deinit {
        sqlite3_finalize(stmt)
    }

    /// Resets the statement and clears its bindings, ready for the next use.
    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try database.check(sqlite3_bind_int64(stmt, index, value))
    }

    func bind(_ index: Int32, _ value: Int) throws(SQLiteError) {
        try bind(index, Int64(value))
    }

    func bind(_ index: Int32, _ value: String) throws(SQLiteError) {
        let count = Int32(value.utf8.count)
        let rc = value.withCString { csqlite_bind_text_transient(stmt, index, $0, count) }
        try database.check(rc)
    }

    func bind(_ index: Int32, _ value: [UInt8]?) throws(SQLiteError) {
        guard let value else {
            try database.check(sqlite3_bind_null(stmt, index))
            return
        }
        let rc = value.withUnsafeBytes { buf in
            // A zero-length blob still needs a non-null pointer to be a blob rather than NULL.
            csqlite_bind_blob_transient(stmt, index, buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buf.count))
        }
        try database.check(rc)
    }

    /// Advances: `true` when a row is available, `false` when done.
    @discardableResult
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let error = database.stepError(rc)
        sqlite3_reset(stmt)
        throw error
    }

    /// Binds nothing further, runs to completion and resets.
    func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// The column's text as UTF-8 bytes without a copy, valid until the next step/reset.
    func withTextBytes<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let p = sqlite3_column_text(stmt, column)
        let n = p == nil ? 0 : Int(sqlite3_column_bytes(stmt, column))
        return try body(UnsafeRawBufferPointer(start: n > 0 ? UnsafeRawPointer(p) : nil, count: n))
    }

    /// The column's bytes without a copy, valid until the next step/reset (nil for NULL).
    func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        if sqlite3_column_type(stmt, column) == SQLITE_NULL { return try body(nil) }
        let p = sqlite3_column_blob(stmt, column)
        let n = Int(sqlite3_column_bytes(stmt, column))
        return try body(UnsafeRawBufferPointer(start: n > 0 ? p : UnsafeRawPointer(bitPattern: 1), count: n))
    }

    /// A copy of the column's bytes (nil for NULL).
    func blob(_ column: Int32) -> [UInt8]? {
        if sqlite3_column_type(stmt, column) == SQLITE_NULL { return nil }
        let n = Int(sqlite3_column_bytes(stmt, column))
        guard n > 0, let p = sqlite3_column_blob(stmt, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: p, count: n))
    }
}
