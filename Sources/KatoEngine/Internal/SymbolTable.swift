/// Symbol UTF-8 bytes → symbol id (open addressing, linear probing), so a symbol already seen
/// needs no `String`. An entry keeps the first 16 bytes inline (most symbols are shorter), the
/// rest in a byte arena.
struct SymbolTable: Sendable {
    private struct Entry {
        var hash: UInt64
        var w0: UInt64
        var w1: UInt64
        var count: Int
        var restStart: Int
        var id: Int32
    }

    private var slots: [Int32] = Array(repeating: -1, count: 1024)
    private var entries: [Entry] = []
    private var rest: [UInt8] = []

    /// The first 16 bytes, zero-padded, as two little-endian words.
    @inline(__always)
    private static func words(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let n = b.count
        if n >= 16 { return (b.loadUnaligned(fromByteOffset: 0, as: UInt64.self), b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        var w: (UInt64, UInt64) = (0, 0)
        var i = 0
        if n >= 8 {
            w.0 = b.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            i = 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(b[i]) << shift
            shift += 8
            i += 1
        }
        if n >= 8 { w.1 = tail } else { w.0 = tail }
        return w
    }

    @inline(__always)
    private static func hash(_ b: UnsafeRawBufferPointer, _ w: (UInt64, UInt64)) -> UInt64 {
        var h = (w.0 ^ 0x9e37_79b9_7f4a_7c15 ^ UInt64(b.count)) &* 0xff51_afd7_ed55_8ccd
        h = (h ^ (h >> 32) ^ w.1) &* 0xc4ce_b9fe_1a85_ec53
        var i = 16
        while i < b.count {
            h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01b3
            i += 1
        }
        return h ^ (h >> 29)
    }

    func find(_ key: UnsafeRawBufferPointer) -> Int32? {
        let w = Self.words(key)
        let h = Self.hash(key, w)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            let entry = entries[e]
            if entry.hash == h && entry.w0 == w.0 && entry.w1 == w.1 && entry.count == key.count {
                if key.count <= 16 { return entry.id }
                let same = rest.withUnsafeBufferPointer { r in
                    UnsafeBufferPointer(rebasing: r[entry.restStart..<(entry.restStart + key.count - 16)])
                        .elementsEqual(UnsafeRawBufferPointer(rebasing: key[16...]))
                }
                if same { return entry.id }
            }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ key: UnsafeRawBufferPointer, id: Int32) {
        let w = Self.words(key)
        entries.append(Entry(hash: Self.hash(key, w), w0: w.0, w1: w.1, count: key.count, restStart: rest.count, id: id))
        if key.count > 16 { rest.append(contentsOf: UnsafeRawBufferPointer(rebasing: key[16...])) }
        if entries.count * 2 > slots.count {
            slots = Array(repeating: -1, count: slots.count * 2)
            for k in 0..<entries.count { place(k) }
        } else {
            place(entries.count - 1)
        }
    }

    private mutating func place(_ e: Int) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: entries[e].hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(e)
    }
}
