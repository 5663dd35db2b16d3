/// The immutable, search-ready form of a pattern: interned symbol ids, event boundaries and the
/// space-joined character string used by the similarity measure. Built once when a pattern is inserted.
final class PatternShape: Sendable {
    let name: String
    let events: [[String]]
    /// Symbol ids of the flattened pattern.
    let flatIds: [Int32]
    /// Cumulative event sizes: `eventEnds[k]` = number of symbols in events 0...k.
    let eventEnds: [Int]
    /// `flatIds` with each event's ids sorted (futures are grouped "equal up to order within events").
    let sortedFlatIds: [Int32]
    /// `suffixHashes[k]` hashes the sorted events `k...` (grouping key of a future starting at event k).
    let suffixHashes: [UInt64]
    /// Unicode scalars of `" ".join(flat)` (empty when `asciiChars` holds the text).
    let chars: [UInt32]
    /// The same text as bytes when it is pure ASCII (4× less memory to stream through the similarity).
    let asciiChars: [UInt8]?
    /// `json.dumps(events)` (ASCII) and, per event k, the offset where event k's text starts: the JSON text
    /// of the future starting at event k is `"["` + `json[jsonEventOffsets[k]...]`.
    let json: [UInt8]
    let jsonEventOffsets: [Int32]
    /// The name's first 8 bytes as a big-endian number (orders like the name's text).
    let nameKey: UInt64

    init(name: String, events: [[String]], flatIds: [Int32]) {
        self.name = name
        self.events = events
        self.flatIds = flatIds
        var ends: [Int] = []
        ends.reserveCapacity(events.count)
        var sorted = flatIds
        var total = 0
        for event in events {
            sorted[total..<(total + event.count)].sort()
            total += event.count
            ends.append(total)
        }
        self.eventEnds = ends
        self.sortedFlatIds = sorted
        var hashes = [UInt64](repeating: 0xcbf2_9ce4_8422_2325, count: events.count + 1)
        var k = events.count - 1
        while k >= 0 {
            var h = hashes[k + 1]
            let start = k == 0 ? 0 : ends[k - 1]
            h = (h ^ UInt64(ends[k] - start) ^ 0x9e37_79b9_7f4a_7c15) &* 0x0000_0100_0000_01b3
            for i in start..<ends[k] {
                h = (h ^ UInt64(UInt32(bitPattern: sorted[i]))) &* 0x0000_0100_0000_01b3
                h ^= h >> 29
            }
            hashes[k] = h
            k -= 1
        }
        self.suffixHashes = hashes
        var chars: [UInt32] = []
        var first = true
        for event in events {
            for symbol in event {
                if !first { chars.append(32) }
                first = false
                for scalar in symbol.unicodeScalars { chars.append(scalar.value) }
            }
        }
        if chars.allSatisfy({ $0 < 128 }) {
            self.asciiChars = chars.map { UInt8($0) }
            self.chars = []
        } else {
            self.asciiChars = nil
            self.chars = chars
        }
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(chars.count + 8 * flatIds.count)
        var offsets: [Int32] = []
        for (i, event) in events.enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")); json.append(UInt8(ascii: " ")) }
            offsets.append(Int32(json.count))
            json.append(UInt8(ascii: "["))
            for (j, symbol) in event.enumerated() {
                if j > 0 { json.append(UInt8(ascii: ",")); json.append(UInt8(ascii: " ")) }
                if PythonRepr.isPlainASCII(symbol) {
                    json.append(UInt8(ascii: "\""))
                    json.append(contentsOf: symbol.utf8)
                    json.append(UInt8(ascii: "\""))
                } else {
                    json.append(contentsOf: PythonJSON.string(symbol).utf8)
                }
            }
            json.append(UInt8(ascii: "]"))
        }
        json.append(UInt8(ascii: "]"))
        // First 8 UTF-8 bytes, big-endian: orders like the name's text (ties need a full comparison).
        var key: UInt64 = 0
        var count = 0
        for b in name.utf8.prefix(8) {
            key = key << 8 | UInt64(b)
            count += 1
        }
        self.nameKey = count == 0 ? 0 : key << (8 * UInt64(8 - count))
        self.json = json
        self.jsonEventOffsets = offsets
    }

    /// The JSON text of the future starting at event `k`, without its leading `[` (common to all futures).
    func futureJSON(from k: Int) -> ArraySlice<UInt8> {
        json[Int(jsonEventOffsets[k])...]
    }

    var length: Int { flatIds.count }

    /// Start index (in the flat pattern) of event `k`.
    @inline(__always) func eventStart(_ k: Int) -> Int { k == 0 ? 0 : eventEnds[k - 1] }

    /// Whether the futures starting at event `k` here and at event `otherK` of `other` are equal up to
    /// the order of symbols inside each event.
    func sameFuture(from k: Int, as other: PatternShape, from otherK: Int) -> Bool {
        if events.count - k != other.events.count - otherK { return false }
        var a = k, b = otherK
        while a < events.count {
            let sa = eventStart(a), sb = other.eventStart(b)
            if eventEnds[a] - sa != other.eventEnds[b] - sb { return false }
            if !sortedFlatIds[sa..<eventEnds[a]].elementsEqual(other.sortedFlatIds[sb..<other.eventEnds[b]]) { return false }
            a += 1
            b += 1
        }
        return true
    }
}

/// The mutable part of a stored pattern.
struct PatternRecord: Sendable {
    var frequency: Int
    var emotives: [[String: Double]]?
    var metadata: [String: [String]]
}
