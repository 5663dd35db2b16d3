/// The immutable, search-ready form of a pattern: interned symbol ids, event boundaries and the
/// space-joined character string used by the similarity measure. Built once when a pattern is inserted.
final class PatternShape: Sendable {
    let name: String
    let events: [[String]]
    /// Symbol ids of the flattened pattern.
    let flatIds: [Int32]
    /// Cumulative event sizes: `eventEnds[k]` = number of symbols in events 0...k.
    let eventEnds: [Int]
    /// Each event's symbol ids, sorted (for grouping futures "equal up to order within events").
    let sortedEventIds: [[Int32]]
    /// Unicode scalars of `" ".join(flat)`.
    let chars: [UInt32]

    init(name: String, events: [[String]], flatIds: [Int32]) {
        self.name = name
        self.events = events
        self.flatIds = flatIds
        var ends: [Int] = []
        var sorted: [[Int32]] = []
        var total = 0
        var position = 0
        for event in events {
            total += event.count
            ends.append(total)
            sorted.append(flatIds[position..<(position + event.count)].sorted())
            position += event.count
        }
        self.eventEnds = ends
        self.sortedEventIds = sorted
        var chars: [UInt32] = []
        var first = true
        for event in events {
            for symbol in event {
                if !first { chars.append(32) }
                first = false
                for scalar in symbol.unicodeScalars { chars.append(scalar.value) }
            }
        }
        self.chars = chars
    }

    var length: Int { flatIds.count }

    /// Start index (in the flat pattern) of event `k`.
    @inline(__always) func eventStart(_ k: Int) -> Int { k == 0 ? 0 : eventEnds[k - 1] }
}

/// The mutable part of a stored pattern.
struct PatternRecord: Sendable {
    var frequency: Int
    var emotives: [[String: Double]]?
    var metadata: [String: [String]]
}
