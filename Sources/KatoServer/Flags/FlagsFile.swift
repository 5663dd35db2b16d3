import Foundation
import StrictJSON

/// Reads the `flags` section of a config file, keeping where each entry is (for the error that
/// refuses a bad section): JSON `{"flags": {"v2_sessions": false}}`, or YAML (`.yaml`/`.yml`)
///
/// ```yaml
/// flags:
///   v2_sessions: false
///   rate_limit_session_rate: 5
/// ```
///
/// The rest of the file is the start-up settings (`kato-server`'s `ConfigFile`), read once.
public enum FlagsFile {
    /// The section's entries (none when the file has no `flags` section).
    public static func entries(_ data: [UInt8], path: String) throws(FlagsError) -> [FlagEntry] {
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { return try yaml(String(decoding: data, as: UTF8.self), path: path) }
        return try json(data, path: path)
    }

    /// Reads and validates the file's flags.
    public static func load(_ path: String) throws(FlagsError) -> FeatureFlags {
        let data: [UInt8]
        do {
            data = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw FlagsError(path: path, line: 0, column: 0, message: "cannot read: \(error.localizedDescription)")
        }
        return try FeatureFlags(entries: entries(data, path: path), path: path)
    }

    static func json(_ data: [UInt8], path: String) throws(FlagsError) -> [FlagEntry] {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes: data)
        } catch {
            throw FlagsError(path: path, line: error.line, column: error.column, message: "invalid JSON: \(error.message)")
        }
        guard case .object(let members) = root else { throw FlagsError(path: path, line: 1, column: 1, message: "must hold a JSON object") }
        guard let section = members.first(where: { $0.0 == "flags" })?.1 else { return [] }
        // StrictJSON keeps no positions of members: find each name's first occurrence as a key
        // after the section's own key, which is where a reader of the file would look.
        var cursor = find("\"flags\"", in: data, from: 0) ?? 0
        let (line, column) = position(of: cursor, in: data)
        guard case .object(let flags) = section else {
            throw FlagsError(path: path, line: line, column: column, message: "'flags' must be an object, not \(section.kind)")
        }
        var out: [FlagEntry] = []
        for (name, value) in flags {
            if let at = find("\"\(name)\"", in: data, from: cursor) { cursor = at }
            let (line, column) = position(of: cursor, in: data)
            let v: FlagEntry.Value
            switch value {
            case .bool(let b): v = .bool(b)
            case .number(let text):
                guard let d = Double(text) else { throw FlagsError(path: path, line: line, column: column, message: "flag '\(name)': bad number \(text)") }
                v = .number(d)
            case .string(let s): v = .string(s)
            case .null: v = .null
            case .array, .object:
                throw FlagsError(path: path, line: line, column: column, message: "flag '\(name)' must be a boolean, number or string, not \(value.kind)")
            }
            out.append(FlagEntry(name: name, value: v, line: line, column: column))
        }
        return out
    }

    static func yaml(_ text: String, path: String) throws(FlagsError) -> [FlagEntry] {
        var out: [FlagEntry] = []
        var inSection = false
        for line in FlatYAML.lines(text) {
            if !line.isIndented {
                inSection = line.text == "flags:"
                continue
            }
            guard inSection else { continue }  // the start-up settings' reader reports those
            let column = line.indent + 1
            guard let (name, value, quoted) = line.entry else {
                throw FlagsError(path: path, line: line.number, column: column, message: "expected 'name: value'")
            }
            let v: FlagEntry.Value
            if quoted {
                v = .string(value)
            } else if value == "true" || value == "false" {
                v = .bool(value == "true")
            } else if value == "null" || value == "~" || value.isEmpty {
                v = .null
            } else if let d = Double(value) {
                v = .number(d)
            } else {
                v = .string(value)
            }
            out.append(FlagEntry(name: name, value: v, line: line.number, column: column))
        }
        return out
    }

    static func find(_ needle: String, in data: [UInt8], from start: Int) -> Int? {
        let n = Array(needle.utf8)
        guard n.count <= data.count else { return nil }
        var i = start
        while i + n.count <= data.count {
            if data[i] == n[0], Array(data[i..<i + n.count]) == n { return i }
            i += 1
        }
        return nil
    }

    /// 1-based line and column (in bytes) of an offset.
    static func position(of offset: Int, in data: [UInt8]) -> (Int, Int) {
        var line = 1, column = 1
        for b in data[..<min(offset, data.count)] {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
