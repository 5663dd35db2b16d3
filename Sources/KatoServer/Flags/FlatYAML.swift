import Foundation

/// The flat YAML a config file may be written in, line by line: what `ConfigFile` (the
/// start-up settings) and `FlagsFile` (the live `flags:` section) both read. One `key: value`
/// per line, `#` comments (not after a `"`), `---` ignored, values optionally quoted.
package enum FlatYAML {
    /// One line that says something (blank lines, comments and `---` are skipped).
    package struct Line {
        /// 1-based line number.
        package let number: Int
        /// Leading spaces and tabs.
        package let indent: Int
        /// The line without its indentation, comment and trailing spaces.
        package let text: String

        package var isIndented: Bool { indent > 0 }

        /// `key: value` split at the first colon, both trimmed, the value without its
        /// quotes (`quoted` says there were some); nil when the line has no colon.
        package var entry: (key: String, value: String, quoted: Bool)? {
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let key = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                return (key, String(value.dropFirst().dropLast()), true)
            }
            return (key, value, false)
        }
    }

    package static func lines(_ text: String) -> [Line] {
        var out: [Line] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "---" { continue }
            out.append(Line(number: n + 1, indent: line.prefix(while: { $0 == " " || $0 == "\t" }).count, text: trimmed))
        }
        return out
    }
}
