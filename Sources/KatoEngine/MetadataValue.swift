/// A JSON value attached to an observation as metadata.
///
/// KATO stores metadata values as Python `str(value)`; ``pythonString`` reproduces that text
/// (`True`, `None`, `1.5`, `[1, 'a']`, `{'k': 1}` …).
public indirect enum MetadataValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([MetadataValue])
    /// Keys in their original order (Python dicts keep insertion order).
    case object([(key: String, value: MetadataValue)])

    public static func == (lhs: MetadataValue, rhs: MetadataValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pythonString)
    }

    /// Python's `str()` of the value as KATO's metadata accumulator writes it.
    public var pythonString: String {
        switch self {
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python's `repr()` of the value (used inside containers).
    public var pythonRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PythonRepr.float(d)
        case .string(let s): return PythonRepr.string(s)
        case .array(let items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let pairs):
            return "{" + pairs.map { PythonRepr.string($0.key) + ": " + $0.value.pythonRepr }.joined(separator: ", ") + "}"
        }
    }

    /// Whether every number inside is finite.
    var isFinite: Bool {
        switch self {
        case .double(let d): return d.isFinite
        case .array(let items): return items.allSatisfy(\.isFinite)
        case .object(let pairs): return pairs.allSatisfy { $0.value.isFinite }
        default: return true
        }
    }
}
