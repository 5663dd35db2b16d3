internal import CProtobufC

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A bump allocator for one encode or decode: every C struct, string, byte buffer and array
/// protobuf-c needs for one message lives here and is released at once when the operation ends.
///
/// The first `ProtoArena.inlineBytes` come from the stack (`withUnsafeTemporaryAllocation`), so
/// small messages cost no heap allocation at all; beyond that, chunks are `malloc`ed with doubling
/// sizes and chained through their first word. Every allocation is 8-byte aligned (the strictest
/// alignment of any protobuf-c member: pointers, `size_t`, `double`, `uint64_t`).
struct ProtoArena {
    /// Bytes of the stack chunk (stays under the size the stdlib keeps on the stack).
    static let inlineBytes = 1024
    /// Header of a heap chunk: the link to the previous heap chunk (16 keeps payloads aligned).
    static let chunkHeader = 16

    var cursor: UnsafeMutableRawPointer
    var end: UnsafeMutableRawPointer
    var heapChunks: UnsafeMutableRawPointer?
    var nextChunkSize: Int

    /// Runs `body` with a fresh arena and frees every chunk afterwards.
    ///
    /// - Parameter sizeHint: expected total allocation; the first heap chunk is at least this big.
        static func with<R, E: Error>(
        sizeHint: Int = 0,
        _ body: (UnsafeMutablePointer<ProtoArena>) throws(E) -> R
    ) throws(E) -> R {
        try withUnsafeTemporaryAllocation(byteCount: inlineBytes, alignment: 16) { buffer throws(E) -> R in
            let base = buffer.baseAddress!
            let stateSize = (MemoryLayout<ProtoArena>.stride + 15) & ~15
            let state = base.bindMemory(to: ProtoArena.self, capacity: 1)
            state.initialize(
                to: ProtoArena(
                    cursor: base + stateSize,
                    end: base + buffer.count,
                    heapChunks: nil,
                    nextChunkSize: Swift.max(4096, sizeHint + chunkHeader)
                )
            )
            defer {
                state.pointee.releaseChunks()
                state.deinitialize(count: 1)
            }
            return try body(state)
        }
    }

        init(cursor: UnsafeMutableRawPointer, end: UnsafeMutableRawPointer, heapChunks: UnsafeMutableRawPointer?, nextChunkSize: Int) {
        self.cursor = cursor
        self.end = end
        self.heapChunks = heapChunks
        self.nextChunkSize = nextChunkSize
    }

    /// Returns `byteCount` uninitialised bytes, 8-byte aligned, valid until the arena ends.
        mutating func allocate(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let size = (byteCount + 7) & ~7
        if end - cursor >= size {
            let p = cursor
            cursor += size
            return p
        }
        return allocateChunk(size)
    }

        mutating func allocateChunk(_ size: Int) -> UnsafeMutableRawPointer {
        let chunkSize = Swift.max(nextChunkSize, size + Self.chunkHeader)
        nextChunkSize = Swift.min(nextChunkSize * 2, 1 << 22)
        guard let chunk = malloc(chunkSize) else { fatalError("out of memory (\(chunkSize) bytes)") }
        chunk.storeBytes(of: heapChunks, as: UnsafeMutableRawPointer?.self)
        heapChunks = chunk
        let start = chunk + Self.chunkHeader
        cursor = start + size
        end = chunk + chunkSize
        return start
    }

    func releaseChunks() {
        var chunk = heapChunks
        while let c = chunk {
            chunk = c.load(as: UnsafeMutableRawPointer?.self)
            free(c)
        }
    }

    /// A protobuf-c allocator that draws from the arena at `arena` and never frees (the arena
    /// is released as a whole), so `protobuf_c_message_free_unpacked` is never needed.
        static func cAllocator(_ arena: UnsafeMutablePointer<ProtoArena>) -> ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in
                data!.assumingMemoryBound(to: ProtoArena.self).pointee.allocate(size)
            },
            free: { _, _ in },
            allocator_data: UnsafeMutableRawPointer(arena)
        )
    }
}
