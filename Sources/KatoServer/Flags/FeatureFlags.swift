import KatoStore
import Logging

/// The `flags` section of the config file: switches and values an operator changes while the
/// server runs (SIGHUP, or the file changing). Each one's "off" behaviour is in
/// docs/OPERATIONS.md; every default is the behaviour of a server without flags.
public struct FeatureFlags: Sendable, Equatable {
    /// The v2 session API (KATO's `ENABLE_V2_SESSIONS`). Off: SessionService and every call that
    /// names a `session_id` answer UNIMPLEMENTED (`FEATURE_DISABLED`); default-session calls
    /// (`node_id` only) go on; open subscriptions stay open.
    public var v2Sessions = true
    /// Off: observations never auto-learn (`auto_learn_skipped` says so); Learn still learns.
    public var autoLearn = true
    /// Off: observations that carry emotives answer UNIMPLEMENTED (`FEATURE_DISABLED`), unapplied.
    public var emotives = true
    /// Off: prediction lists come back empty, with trailer `kato-predictions: disabled`.
    public var predictions = true
    /// Off: store failures never open the circuit breaker (every write is tried).
    public var circuitBreaker = true
    /// Off: no token bucket takes tokens (the concurrency limit stays).
    public var rateLimits = true
    /// Per-principal and per-session rates and bursts; nil keeps the start-up value; a rate of
    /// 0 switches that bucket off.
    public var rateLimitPrincipalRate: Double?
    public var rateLimitPrincipalBurst: Double?
    public var rateLimitSessionRate: Double?
    public var rateLimitSessionBurst: Double?
    /// The per-call access log: a level, `.off`, or nil for the start-up setting.
    public var accessLogLevel: AccessLog?
    /// The lowest degradation level the server reports and acts on, whatever the store says.
    public var degradationLevel: DegradationLevel = .normal
    /// On: MAINTENANCE (only health answers), with reason "maintenance mode".
    public var maintenance = false

    public enum AccessLog: Sendable, Equatable, CustomStringConvertible {
        case off
        case level(Logger.Level)
        public var description: String {
            switch self {
            case .off: "off"
            case .level(let l): "\(l)"
            }
        }
    }

    public init() {}

    /// Every boolean flag, for `kato_feature_enabled{feature=…}` (each registered up front).
    public var features: [(name: String, enabled: Bool)] {
        [
            ("v2_sessions", v2Sessions), ("auto_learn", autoLearn), ("emotives", emotives), ("predictions", predictions),
            ("circuit_breaker", circuitBreaker), ("rate_limits", rateLimits), ("maintenance", maintenance),
            ("access_log", accessLogLevel != .off),
        ]
    }

    /// Every flag's value as text, by name (for the old → new log line).
    public var values: [(name: String, value: String)] {
        func opt(_ d: Double?) -> String { d.map { "\($0)" } ?? "(start-up value)" }
        return [
            ("v2_sessions", "\(v2Sessions)"), ("auto_learn", "\(autoLearn)"), ("emotives", "\(emotives)"),
            ("predictions", "\(predictions)"), ("circuit_breaker", "\(circuitBreaker)"), ("rate_limits", "\(rateLimits)"),
            ("rate_limit_principal_rate", opt(rateLimitPrincipalRate)), ("rate_limit_principal_burst", opt(rateLimitPrincipalBurst)),
            ("rate_limit_session_rate", opt(rateLimitSessionRate)), ("rate_limit_session_burst", opt(rateLimitSessionBurst)),
            ("access_log_level", accessLogLevel.map { "\($0)" } ?? "(start-up value)"),
            ("degradation_level", "\(degradationLevel)".lowercased()), ("maintenance", "\(maintenance)"),
        ]
    }

    /// (name, old, new) of every flag that differs.
    public func changes(to new: FeatureFlags) -> [(name: String, old: String, new: String)] {
        zip(values, new.values).compactMap { a, b in a.value == b.value ? nil : (a.name, a.value, b.value) }
    }
}

/// One entry of a flags section as read from the file: its name, value and where it is.
public struct FlagEntry: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case bool(Bool)
        case number(Double)
        case string(String)
        case null
        var kind: String {
            switch self {
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .null: "null"
            }
        }
    }
    public var name: String
    public var value: Value
    public var line: Int
    public var column: Int
    public init(name: String, value: Value, line: Int, column: Int) {
        self.name = name
        self.value = value
        self.line = line
        self.column = column
    }
}

/// Why a flags section was refused, with where.
public struct FlagsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(path: String, line: Int, column: Int, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }
    public var description: String { "\(path) line \(line), column \(column): \(message)" }
}

extension FeatureFlags {
    static let names: Set<String> = [
        "v2_sessions", "auto_learn", "emotives", "predictions", "circuit_breaker", "rate_limits",
        "rate_limit_principal_rate", "rate_limit_principal_burst", "rate_limit_session_rate", "rate_limit_session_burst",
        "access_log_level", "degradation_level", "maintenance",
    ]
    /// Largest rate or burst a flag may set (the start-up defaults are 1e6).
    static let maxRate = 1e9

    /// The flags of a section, all or nothing: the first unknown name, wrong type or value out
    /// of range refuses the whole section. A flag not in the section takes its default.
    public init(entries: [FlagEntry], path: String) throws(FlagsError) {
        self.init()
        var seen: Set<String> = []
        for e in entries {
            func fail(_ message: String) -> FlagsError { FlagsError(path: path, line: e.line, column: e.column, message: message) }
            guard Self.names.contains(e.name) else {
                throw fail("unknown flag '\(e.name)' (known: \(Self.names.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(e.name).inserted else { throw fail("flag '\(e.name)' is given twice") }
            func bool() throws(FlagsError) -> Bool {
                guard case .bool(let b) = e.value else { throw fail("flag '\(e.name)' must be true or false, not \(e.value.kind)") }
                return b
            }
            func rate() throws(FlagsError) -> Double? {
                if case .null = e.value { return nil }
                guard case .number(let d) = e.value else { throw fail("flag '\(e.name)' must be a number, not \(e.value.kind)") }
                guard d.isFinite, d >= 0, d <= Self.maxRate else { throw fail("flag '\(e.name)' must be 0…\(Int(Self.maxRate)) (got \(d))") }
                if e.name.hasSuffix("_burst"), d < 1 { throw fail("flag '\(e.name)' must be at least 1 (got \(d))") }
                return d
            }
            func string() throws(FlagsError) -> String {
                guard case .string(let s) = e.value else { throw fail("flag '\(e.name)' must be a string, not \(e.value.kind)") }
                return s
            }
            switch e.name {
            case "v2_sessions": v2Sessions = try bool()
            case "auto_learn": autoLearn = try bool()
            case "emotives": emotives = try bool()
            case "predictions": predictions = try bool()
            case "circuit_breaker": circuitBreaker = try bool()
            case "rate_limits": rateLimits = try bool()
            case "maintenance": maintenance = try bool()
            case "rate_limit_principal_rate": rateLimitPrincipalRate = try rate()
            case "rate_limit_principal_burst": rateLimitPrincipalBurst = try rate()
            case "rate_limit_session_rate": rateLimitSessionRate = try rate()
            case "rate_limit_session_burst": rateLimitSessionBurst = try rate()
            case "access_log_level":
                let s = try string()
                if s == "off" {
                    accessLogLevel = .off
                } else if let level = Logger.Level(rawValue: s) {
                    accessLogLevel = .level(level)
                } else {
                    throw fail("flag 'access_log_level' must be off, trace, debug, info, notice, warning, error or critical (got '\(s)')")
                }
            case "degradation_level":
                let s = try string()
                guard let level = ["normal": DegradationLevel.normal, "degraded": .degraded, "essential": .essential, "maintenance": .maintenance][s]
                else { throw fail("flag 'degradation_level' must be normal, degraded, essential or maintenance (got '\(s)')") }
                degradationLevel = level
            default: break
            }
        }
    }
}
