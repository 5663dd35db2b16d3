import GRPCH2Core

/// A connection's open streams by id: an open-addressing table with linear probing and
/// tombstones. A `Dictionary` hashes every key with SipHash, and a call looks its stream up
/// ~7 times; client stream ids are odd and increasing, so `id >> 1` spreads the live ones
/// over distinct slots as it is, and a lookup is a few instructions. (Deletion by shifting
/// the cluster back was tried: sequential ids make the live streams one long cluster, and
/// every close walked it.)
struct StreamTable<Value: AnyObject> {
    private static var empty: Int32 { 0 }  // stream 0 is the connection, never a request
    private static var deleted: Int32 { -1 }
    private var ids: [Int32]
    private var values: [Value?]
    private var mask: Int
    private(set) var count = 0
    /// Slots not empty: live plus deleted. Kept under 3/4 so probes end at an empty slot soon.
    private var used = 0

    init(capacity: Int = 256) {
        precondition(capacity >= 4 && capacity & (capacity - 1) == 0, "capacity is a power of two")
        ids = Array(repeating: Self.empty, count: capacity)
        values = Array(repeating: nil, count: capacity)
        mask = capacity - 1
    }

    var isEmpty: Bool { count == 0 }

    subscript(id: Int32) -> Value? {
        guard id > 0 else { return nil }
        var i = Int(id >> 1) & mask
        while true {
            let slot = ids[i]
            if slot == id { return values[i] }
            if slot == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    /// Adds or replaces the value for `id` (a positive stream id).
    mutating func set(_ value: Value, for id: Int32) {
        precondition(id > 0, "stream ids are positive")
        var i = Int(id >> 1) & mask
        var free = -1
        while true {
            let slot = ids[i]
            if slot == id {
                values[i] = value
                return
            }
            if slot == Self.empty { break }
            if slot == Self.deleted, free < 0 { free = i }
            i = (i + 1) & mask
        }
        if free < 0 {
            free = i
            used += 1
        }
        ids[free] = id
        values[free] = value
        count += 1
        if used * 4 > ids.count * 3 {
            // Mostly tombstones: rebuild at the same size; mostly live streams: grow.
            rehash(capacity: count * 2 > ids.count ? ids.count * 2 : ids.count)
        }
    }

    @discardableResult
    mutating func removeValue(for id: Int32) -> Value? {
        guard id > 0 else { return nil }
        var i = Int(id >> 1) & mask
        while true {
            let slot = ids[i]
            if slot == id {
                let value = values[i]
                ids[i] = Self.deleted
                values[i] = nil
                count -= 1
                return value
            }
            if slot == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    /// Every value, then an empty table.
    mutating func removeAll() -> [Value] {
        let live = values.compactMap { $0 }
        self = StreamTable(capacity: 256)
        return live
    }

    /// Drops the tombstones (every ~capacity/2 inserts with a steady number of open streams).
    /// In place when the size stays: new arrays each time cost ~200 instructions per call.
    private mutating func rehash(capacity: Int) {
        var live: [(Int32, Value)] = []
        live.reserveCapacity(count)
        for i in ids.indices where ids[i] > 0 { live.append((ids[i], values[i]!)) }
        if capacity == ids.count {
            for i in ids.indices {
                ids[i] = Self.empty
                values[i] = nil
            }
        } else {
            ids = Array(repeating: Self.empty, count: capacity)
            values = Array(repeating: nil, count: capacity)
            mask = capacity - 1
        }
        count = live.count
        used = live.count
        for (id, value) in live {
            var j = Int(id >> 1) & mask
            while ids[j] != Self.empty { j = (j + 1) & mask }
            ids[j] = id
            values[j] = value
        }
    }
}
