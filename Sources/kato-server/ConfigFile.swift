import ArgumentParser
import Foundation
import KatoServer

/// The `--config FILE` settings as text values keyed by flag name with `_` for `-`.
///
/// JSON: one object of scalars (`{"port": 50051, "log_level": "info"}`).
/// YAML (`.yaml`/`.yml`): a flat mapping, one `key: value` per line, `#` comments, values
/// optionally quoted — the subset a server's flag file needs; nested YAML is rejected with
/// the line number rather than half-read. The `flags` section (JSON object, YAML indented
/// mapping) is the feature flags, read and re-read by `FlagsFile`.
enum ConfigFile {
    static func load(_ path: String) throws -> [String: String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
        }
        return try parse(data, path: path)
    }

    /// The settings of a config file's bytes; `path` picks the format (`.yaml`/`.yml`: YAML)
    /// and names the file in errors.
    static func parse(_ data: Data, path: String) throws -> [String: String] {
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            return try yaml(String(decoding: data, as: UTF8.self), path: path)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("config file \(path) must hold a JSON object")
        }
        var out: [String: String] = [:]
        for (key, value) in object where key != "flags" {  // the live section: `FlagsFile`
            switch value {
            // JSON booleans arrive as NSNumbers of ObjC type "c" (char).
            case let n as NSNumber where String(cString: n.objCType) == "c": out[key] = n.boolValue ? "true" : "false"
            case let n as NSNumber: out[key] = n.stringValue
            case let s as String: out[key] = s
            default: throw ValidationError("config file \(path): '\(key)' must be a string, number or boolean")
            }
        }
        return out
    }

    static func yaml(_ text: String, path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        var inFlags = false  // the live `flags:` section, read by `FlagsFile`
        for line in FlatYAML.lines(text) {
            if inFlags, line.isIndented { continue }
            inFlags = !line.isIndented && line.text == "flags:"
            if inFlags { continue }
            guard !line.isIndented, let (key, value, _) = line.entry else {
                throw ValidationError("config file \(path) line \(line.number): expected 'key: value' (flat mapping only)")
            }
            guard !key.isEmpty, !value.isEmpty else {
                throw ValidationError("config file \(path) line \(line.number): '\(key)' has no value (nested YAML is not supported)")
            }
            out[key] = value
        }
        return out
    }
}
