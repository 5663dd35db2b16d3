/// A JSON value does not fit the message type (unknown field, wrong type, out of range), or
/// wire bytes do not decode as the declared type.
struct CodecError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Where a value sits inside the message being converted, for error messages
/// (`observations[2].emotives["joy"]`).
struct FieldPath: CustomStringConvertible {
    private var parts: [String] = []

    init() {}

    func appending(field name: String) -> FieldPath {
        var copy = self
        copy.parts.append(copy.parts.isEmpty ? name : "." + name)
        return copy
    }

    func appending(index: Int) -> FieldPath {
        var copy = self
        copy.parts.append("[\(index)]")
        return copy
    }

    func appending(key: String) -> FieldPath {
        var copy = self
        copy.parts.append("[\(JSONPrinter.quote(key))]")
        return copy
    }

    var description: String { parts.isEmpty ? "(top level)" : parts.joined() }
}
