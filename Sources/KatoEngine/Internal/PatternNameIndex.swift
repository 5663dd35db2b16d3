/// Pattern name → pattern id: an open-addressing table of `(hash tag, id)` words that compares the
/// name itself (held by the pattern's shape) only when the tags match. Names are sha1 hex, so the
/// hash is read straight from the first 16 hex digits (any other string is hashed byte by byte).
/// Smaller than `[String: Int32]` (8 bytes a slot, no key copies) and needs no String hashing or
/// comparisons while building — the cost that dominated indexing a million stored names.
struct PatternNameIndex: Sendable {
    /// 0 = empty; else `tag << 32 | (id + 1)` with `tag` the hash's high 32 bits.
    /// Chunked: a learn while a prediction holds a view copies one chunk, not the table.
    private var slots = ChunkedArray<UInt64>()
    private(set) var count = 0

    init() {}

    init(minimumCapacity n: Int) {
        var capacity = 16
        while capacity < 2 * n { capacity *= 2 }
        slots = ChunkedArray(repeating: 0, count: capacity)
    }

    static func hash(_ name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { hash(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The hash of a name given as UTF-8 bytes (equal to ``hash(_:)`` of the same text).
    static func hash(utf8 name: UnsafeRawBufferPointer) -> UInt64 {
        if name.count >= 16 {
            var h: UInt64 = 0
            var hex = true
            for i in 0..<16 {
                let b = name[i]
                let v: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = b &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = b &- UInt8(ascii: "a") &+ 10
                default: hex = false; v = 0
                }
                h = h << 4 | UInt64(v)
            }
            // Spread the digest bits (they are uniform; this only mixes tag and bucket bits).
            if hex { return (h ^ (h >> 31)) &* 0x9e37_79b9_7f4a_7c15 }
        }
        var f: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name { f = (f ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return (f ^ (f >> 29)) &* 0xbf58_476d_1ce4_e5b9
    }

    /// The id of the pattern named `name`, if any (`shapes` holds the names).
    func find<C: RandomAccessCollection>(_ name: String, in shapes: C) -> Int32? where C.Element == PatternShape, C.Index == Int {
        guard !slots.isEmpty else { return nil }
        let h = Self.hash(name)
        let tag = h >> 32
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s >> 32 == tag {
                let id = Int32(truncatingIfNeeded: s & 0xffff_ffff) - 1
                if shapes[Int(id)].name == name { return id }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `id` (whose name is `shapes[id].name`); returns the id already stored under that name
    /// instead, if there is one (nothing is changed then).
    @discardableResult
    mutating func insert<C: RandomAccessCollection>(_ id: Int32, in shapes: C) -> Int32? where C.Element == PatternShape, C.Index == Int {
        insert(id, hash: Self.hash(shapes[Int(id)].name), in: shapes)
    }

    /// ``insert(_:in:)`` with the name's ``hash(_:)`` already known.
    @discardableResult
    mutating func insert<C: RandomAccessCollection>(_ id: Int32, hash h: UInt64, in shapes: C) -> Int32? where C.Element == PatternShape, C.Index == Int {
        if 2 * (count + 1) > slots.count { grow(shapes) }
        let tag = h >> 32
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 {
                slots[i] = tag << 32 | UInt64(UInt32(id) + 1)
                count += 1
                return nil
            }
            if s >> 32 == tag {
                let other = Int32(truncatingIfNeeded: s & 0xffff_ffff) - 1
                if shapes[Int(other)].name == shapes[Int(id)].name { return other }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `id` with its name's hash without comparing names (they may not be at hand yet):
    /// ids already stored with the same hash tag on the probe path are appended to `suspects`
    /// (same name or not: compare once the names are known). Returns false, changing nothing, when
    /// the table is too full (it only grows in ``insert(_:hash:in:)``, which needs the names).
    mutating func insertDeferred(_ id: Int32, hash h: UInt64, suspects: inout [(Int32, Int32)]) -> Bool {
        guard 2 * (count + 1) <= slots.count else { return false }
        let tag = h >> 32
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 {
                slots[i] = tag << 32 | UInt64(UInt32(id) + 1)
                count += 1
                return true
            }
            if s >> 32 == tag { suspects.append((id, Int32(truncatingIfNeeded: s & 0xffff_ffff) - 1)) }
            i = (i + 1) & mask
        }
    }

    /// Runs `body` on the slots; a `true` result means one entry was removed.
    mutating func withSlots(_ body: (inout ChunkedArray<UInt64>) -> Bool) {
        if slots.isEmpty { return }
        if body(&slots) { count -= 1 }
    }

    private mutating func grow<C: RandomAccessCollection>(_ shapes: C) where C.Element == PatternShape, C.Index == Int {
        let old = slots
        slots = ChunkedArray(repeating: 0, count: Swift.max(16, old.count * 2))
        let mask = slots.count - 1
        for s in old where s != 0 {
            let id = Int(truncatingIfNeeded: s & 0xffff_ffff) - 1
            var i = Int(truncatingIfNeeded: Self.hash(shapes[id].name)) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }
}
