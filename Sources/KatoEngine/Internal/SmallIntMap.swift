/// A tiny open-addressing map from symbol id to a dense slot, for the handful of distinct STM symbols.
struct SmallIntMap {
    private var keys: [Int32]
    private var values: [Int32]
    private let mask: Int

    init(capacity: Int) {
        var size = 8
        while size < capacity * 2 { size <<= 1 }
        keys = [Int32](repeating: Int32.min, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always) private func hash(_ k: Int32) -> Int {
        Int(truncatingIfNeeded: UInt32(bitPattern: k) &* 2_654_435_761) & mask
    }

    /// The slot of `key`, or -1.
    @inline(__always) func get(_ key: Int32) -> Int32 {
        var i = hash(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Int32.min { return -1 }
            i = (i + 1) & mask
        }
    }

    mutating func set(_ key: Int32, _ value: Int32) {
        var i = hash(key)
        while keys[i] != Int32.min && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = value
    }
}
