/// The golden README's comparison rules: every expected field, floats within 1e-9 absolute or
/// relative, integers and strings exact, `predictions` tie groups (equal potential) unordered,
/// `future_potentials` tie groups (equal aggregate_potential) unordered.
enum Comparison {
    static func floatsEqual(_ a: Double, _ b: Double) -> Bool {
        if a == b { return true }
        let d = abs(a - b)
        return d <= 1e-9 || d <= 1e-9 * max(abs(a), abs(b))
    }

    static func firstDifference(expected: JSON, actual: JSON, path: String) -> String? {
        switch (expected, actual) {
        case let (.int(e), .int(a)):
            return e == a ? nil : mismatch(path, expected, actual)
        case (.int, .double), (.double, .int), (.double, .double):
            return floatsEqual(expected.numberValue!, actual.numberValue!) ? nil : mismatch(path, expected, actual)
        case let (.object(pairs), .object):
            for (key, value) in pairs {
                let sub = path.isEmpty ? key : path + "." + key
                guard let a = actual[key] else { return "\(sub): expected \(value.text), actual field missing" }
                if key == "predictions", let e = value.arrayValue, let av = a.arrayValue {
                    if let d = compareTieGroups(e, av, path: sub, rankKey: "potential", idKey: "name") { return d }
                } else if key == "future_potentials", let e = value.arrayValue, let av = a.arrayValue {
                    if let d = compareTieGroups(e, av, path: sub, rankKey: "aggregate_potential", idKey: "future") { return d }
                } else if let d = firstDifference(expected: value, actual: a, path: sub) {
                    return d
                }
            }
            return nil
        case let (.array(e), .array(a)):
            if e.count != a.count {
                return "\(path): expected \(e.count) elements, actual \(a.count): expected \(short(expected)), actual \(short(actual))"
            }
            for (i, (x, y)) in zip(e, a).enumerated() {
                if let d = firstDifference(expected: x, actual: y, path: "\(path)[\(i)]") { return d }
            }
            return nil
        default:
            return expected == actual ? nil : mismatch(path, expected, actual)
        }
    }

    /// Compares two ranked lists whose runs of equal rank (within tolerance) may be in any order.
    static func compareTieGroups(_ e: [JSON], _ a: [JSON], path: String, rankKey: String, idKey: String) -> String? {
        if e.count != a.count {
            let names = a.map { ($0[idKey] ?? .null).text }
            return "\(path): expected \(e.count) elements, actual \(a.count) (actual \(idKey)s \(names.prefix(10)))"
        }
        var i = 0
        while i < e.count {
            let rank = e[i][rankKey]?.numberValue ?? .nan
            var j = i + 1
            while j < e.count, let r = e[j][rankKey]?.numberValue, floatsEqual(r, rank) { j += 1 }
            var remaining = Array(a[i..<j])
            for k in i..<j {
                let id = e[k][idKey] ?? .null
                guard let match = remaining.firstIndex(where: { ($0[idKey] ?? .null) == id }) else {
                    return "\(path)[\(k)]: expected \(idKey) \(id.text) (\(rankKey) \(rank)) among actual \(a[i..<j].map { ($0[idKey] ?? .null).text })"
                }
                if let d = firstDifference(expected: e[k], actual: remaining[match], path: "\(path)[\(k)]") { return d }
                remaining.remove(at: match)
            }
            i = j
        }
        return nil
    }

    static func mismatch(_ path: String, _ e: JSON, _ a: JSON) -> String {
        "\(path): expected \(short(e)), actual \(short(a))"
    }

    static func short(_ j: JSON) -> String {
        let t = j.text
        return t.count > 300 ? String(t.prefix(300)) + "…" : t
    }
}
