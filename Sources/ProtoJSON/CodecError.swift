import ProtoWire
import StrictJSON

/// A JSON value does not fit the message type (unknown field, wrong type, out of range), or
/// wire bytes do not decode as the declared type. Typed so that a server can map it to a
/// status (every kind is the client's fault: INVALID_ARGUMENT) and name the field.
public struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The input is not JSON at all (RFC 8259 syntax).
        case invalidJSON
        /// The JSON object has a member the message type does not declare.
        case unknownField
        /// A field (or a oneof) is given twice.
        case duplicateField
        /// The JSON kind does not fit (a string where an object is expected, …).
        case wrongType
        /// The kind fits but the value does not (bad enum name, bad base64, bad timestamp).
        case invalidValue
        /// A number is outside its field's range.
        case outOfRange
        /// Binary input does not decode as the declared type.
        case malformedBinary
        /// A type the input names (a field's, an Any's `@type`) is not in the pool.
        case unknownType
    }

    public let kind: Kind
    /// Where the value sits (`observations[2].emotives["joy"]`); nil when the error was raised
    /// below any field (a scalar parser) and not yet placed.
    public let path: FieldPath?
    /// What is wrong, without the path.
    public let reason: String

    public init(_ kind: Kind, at path: FieldPath? = nil, _ reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    /// "path: reason", the form the CLI prints.
    public var message: String { path.map { "\($0): \(reason)" } ?? reason }
    public var description: String { message }
}

/// Where a value sits inside the message being converted, for error messages
/// (`observations[2].emotives["joy"]`). The codec extends it at every field it visits, so it
/// is a persistent list (appending allocates one node and copies nothing) that is formatted
/// only when an error prints it.
public struct FieldPath: CustomStringConvertible, Sendable, Equatable {
    private enum Part: Sendable, Equatable {
        case field(String)
        case index(Int)
        case key(String)
    }

    private final class Node: Sendable {
        let parent: Node?
        let part: Part
        init(_ parent: Node?, _ part: Part) {
            self.parent = parent
            self.part = part
        }
    }

    private let last: Node?

    public init() { last = nil }
    private init(_ last: Node) { self.last = last }

    public func appending(field name: String) -> FieldPath { FieldPath(Node(last, .field(name))) }
    public func appending(index: Int) -> FieldPath { FieldPath(Node(last, .index(index))) }
    public func appending(key: String) -> FieldPath { FieldPath(Node(last, .key(key))) }

    public var isTopLevel: Bool { last == nil }

    private var parts: [Part] {
        var parts: [Part] = []
        var node = last
        while let n = node {
            parts.append(n.part)
            node = n.parent
        }
        return parts.reversed()
    }

    public static func == (a: FieldPath, b: FieldPath) -> Bool { a.parts == b.parts }

    public var description: String {
        let parts = self.parts
        if parts.isEmpty { return "(top level)" }
        var out = ""
        for part in parts {
            switch part {
            case .field(let name): out += out.isEmpty ? name : "." + name
            case .index(let i): out += "[\(i)]"
            case .key(let k): out += "[" + JSONPrinter.quote(k) + "]"
            }
        }
        return out
    }
}
