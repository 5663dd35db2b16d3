/// KATO's emotive and metadata accumulation rules (kato-semantics §1.7, §1.8).
public enum Accumulation {
    /// `average_emotives`: per key, the arithmetic mean over the dicts that contain the key
    /// (missing keys are not zeros), summed in list order.
    public static func averageEmotives(_ records: [[String: Double]]) -> [String: Double] {
        if records.isEmpty { return [:] }  // most patterns: no window, no dictionaries to build
        var sums: [String: Double] = [:]
        var counts: [String: Int] = [:]
        for record in records {
            for (key, value) in record {
                sums[key, default: 0] += value
                counts[key, default: 0] += 1
            }
        }
        var out: [String: Double] = [:]
        for (key, sum) in sums { out[key] = sum / Double(counts[key]!) }
        return out
    }

    /// `accumulate_metadata`: per key, the sorted (code-point order) unique `str()` of every value.
    public static func accumulateMetadata(_ records: [[String: MetadataValue]]) -> [String: [String]] {
        var sets: [String: Set<String>] = [:]
        for record in records {
            for (key, value) in record {
                sets[key, default: []].insert(value.pythonString)
            }
        }
        return sets.mapValues { $0.sorted(by: codePointLess) }
    }
}

/// Python's default string ordering: lexicographic by Unicode code point (equivalently by UTF-8 bytes).
@inlinable
public func codePointLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
