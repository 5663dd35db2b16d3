import CNGHTTP2
#if canImport(Glibc)
import Glibc
#endif

// MARK: nghttp2's allocator

/// A per-session pool for nghttp2's own allocations (about 8 per call: stream, outbound
/// frames, header copies): freed blocks wait in per-size free lists for reuse, where glibc
/// took ~250 instructions per malloc/free pair at this pattern (64 streams in flight per
/// connection overflow its per-thread cache). nghttp2 calls it only from inside the session's
/// own calls, so on the session's event loop only: no locking.
///
/// Block layout: 16 header bytes (size class at offset 8; while free, the next free block at
/// offset 0; for unpooled large blocks, the requested size at offset 0), then the memory
/// nghttp2 gets, 16-byte aligned as malloc's. Each class keeps at most `freeBytesPerClass`
/// bytes of free blocks (16 KiB per class still missed ~1 block per call at 64 streams in
/// flight), so a connection holds at most what it used at its peak, capped at ~576 KiB.
final class NGHTTP2Pool {
    static let classCount = 9            // blocks of 64 << k bytes (header included): 64 B ... 16 KiB
    static let unpooled: UInt64 = 255
    static let headerSize = 16
    static let freeBytesPerClass = 64 * 1024
    private let heads = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: classCount)
    private let counts = UnsafeMutablePointer<Int>.allocate(capacity: classCount)

    /// Free blocks waiting in size class `k` (tests).
    func freeBlockCount(sizeClass k: Int) -> Int { counts[k] }

    init() {
        heads.initialize(repeating: nil, count: Self.classCount)
        counts.initialize(repeating: 0, count: Self.classCount)
    }

    deinit {
        for k in 0..<Self.classCount {
            var block = heads[k]
            while let b = block {
                block = b.load(as: UnsafeMutableRawPointer?.self)
                Glibc.free(b)
            }
        }
        heads.deallocate()
        counts.deallocate()
    }

    static func sizeClass(_ size: Int) -> Int {
        let total = size + headerSize
        if total <= 64 { return 0 }
        return Int.bitWidth - (total - 1).leadingZeroBitCount - 6
    }

    private static func capacity(_ block: UnsafeMutableRawPointer) -> Int {
        let k = block.load(fromByteOffset: 8, as: UInt64.self)
        if k == unpooled { return Int(block.load(as: UInt64.self)) }
        return (64 << Int(k)) - headerSize
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let k = Self.sizeClass(size)
        guard k < Self.classCount else {
            guard let block = Glibc.malloc(size + Self.headerSize) else { return nil }
            block.storeBytes(of: UInt64(size), as: UInt64.self)
            block.storeBytes(of: Self.unpooled, toByteOffset: 8, as: UInt64.self)
            return block + Self.headerSize
        }
        if let block = heads[k] {
            heads[k] = block.load(as: UnsafeMutableRawPointer?.self)
            counts[k] -= 1
            return block + Self.headerSize
        }
        guard let block = Glibc.malloc(64 << k) else { return nil }
        block.storeBytes(of: UInt64(k), toByteOffset: 8, as: UInt64.self)
        return block + Self.headerSize
    }

    func free(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let block = pointer - Self.headerSize
        let k = block.load(fromByteOffset: 8, as: UInt64.self)
        guard k != Self.unpooled, counts[Int(k)] < Self.freeBytesPerClass >> (6 + Int(k)) else {
            Glibc.free(block)
            return
        }
        block.storeBytes(of: heads[Int(k)], as: UnsafeMutableRawPointer?.self)
        heads[Int(k)] = block
        counts[Int(k)] += 1
    }

    func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer else { return allocate(size) }
        let capacity = Self.capacity(pointer - Self.headerSize)
        if size <= capacity { return pointer }
        guard let moved = allocate(size) else { return nil }  // realloc keeps the old block on failure
        moved.copyMemory(from: pointer, byteCount: capacity)
        free(pointer)
        return moved
    }
}

private func withPool<R>(_ userData: UnsafeMutableRawPointer?, _ body: (NGHTTP2Pool) -> R) -> R {
    Unmanaged<NGHTTP2Pool>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

let poolMalloc: nghttp2_malloc = { size, userData in withPool(userData) { $0.allocate(size) } }
let poolFree: nghttp2_free = { pointer, userData in withPool(userData) { $0.free(pointer) } }
let poolCalloc: nghttp2_calloc = { count, size, userData in
    let (total, overflow) = count.multipliedReportingOverflow(by: size)
    guard !overflow, let p = withPool(userData, { $0.allocate(total) }) else { return nil }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: total)
    return p
}
let poolRealloc: nghttp2_realloc = { pointer, size, userData in withPool(userData) { $0.reallocate(pointer, size) } }
