/// A failure of the durable store, with a code the server maps to a gRPC status
/// (`CIRCUIT_OPEN`, `DATABASE_ERROR`, …) and a message meant for operators.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarsely.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String

        /// The circuit breaker is open: the store is not called until it half-opens.
        public static let circuitOpen = Code(name: "circuit_open")
        /// A database error (I/O, constraint, busy after retries…).
        public static let database = Code(name: "database")
        /// The database file is damaged or not a database.
        public static let corrupt = Code(name: "corrupt")
        /// The disk is full.
        public static let full = Code(name: "full")
        /// The data directory or file cannot be written.
        public static let readOnly = Code(name: "read_only")
        /// Another process holds the data directory.
        public static let locked = Code(name: "locked")
        /// The file's schema is newer than this program.
        public static let incompatibleSchema = Code(name: "incompatible_schema")
        /// A test-only injected fault (`--enable-test-faults`).
        public static let injected = Code(name: "injected_fault")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// Whether retrying the same operation soon may succeed (busy/locked, injected transient faults).
    public var isTransient: Bool

    public init(_ code: Code, _ message: String, transient: Bool = false) {
        self.code = code
        self.message = message
        self.isTransient = transient
    }

    init(sqlite error: SQLiteError, path: String? = nil) {
        let suffix = path.map { " [\($0)]" } ?? ""
        if error.isCorruption {
            self.init(.corrupt, "database file is corrupt or not a kato database: \(error)\(suffix)")
        } else if error.isFull {
            self.init(.full, "disk full: \(error)\(suffix)")
        } else if error.isReadOnly {
            self.init(.readOnly, "cannot write the database: \(error)\(suffix)")
        } else {
            self.init(.database, "\(error)\(suffix)", transient: error.isBusy)
        }
    }

    public var description: String { "\(code): \(message)" }
}
