import Synchronization

/// Builds chunks' pattern shapes and the name index: a job on the caller's worker thread (see
/// ``LoaderWorker``) takes queued chunks in order until none is left, and is started again by the
/// next chunk; the loading thread takes one itself when three or more are waiting, and drains the
/// queue at the end. Shapes are built in place (``ShapeSlots``) when the pattern count was
/// announced, else kept per chunk; ``collect()`` returns them in id order.
final class ShapePipeline: Sendable {
    private struct Queue {
        var chunks: [ShapeChunk] = []
        var head = 0
        var closed = false
        /// A worker job was started (the loading thread then helps when it falls behind).
        var workerStarted = false
        /// A worker job is taking chunks (it stops, in the same lock, when it finds none).
        var workerRunning = false
        /// Waits for each worker job started.
        var joins: [@Sendable () -> Void] = []
    }

    private struct Built {
        /// Chunks built into `slots` (their index), and the others' shapes (beyond the announced size).
        var inSlots: Set<Int> = []
        var shapes: [[PatternShape]] = []
        /// Per chunk, the name hash of each shape (``PatternNameIndex/hash(utf8:)``).
        var nameHashes: [[UInt64]] = []
    }

    /// The name index, filled as chunks are built (names compared at the end, only for the
    /// `suspects` — same hash tag); `complete` is false when it could not be (no size known up
    /// front, or more patterns than announced), then ``collect()`` builds it from the hashes.
    private struct Names {
        var index = PatternNameIndex()
        var suspects: [(Int32, Int32)] = []
        var complete = false
    }

    /// Two locks: taking a chunk never waits for another thread storing its shapes.
    private let queue = Mutex(Queue())
    private let built = Mutex(Built())
    private let names = Mutex(Names())
    /// Where shapes are built in place when the number of patterns is announced (``expect(_:)``).
    private let slots = Mutex<ShapeSlots?>(nil)
    private let worker: LoaderWorker?

    init(worker: LoaderWorker?) {
        self.worker = worker
    }

    /// Sizes the name index for `n` patterns so chunks can be indexed as they are built.
    func expect(_ n: Int) {
        names.withLock { $0 = Names(index: PatternNameIndex(minimumCapacity: n), suspects: [], complete: true) }
        slots.withLock { $0 = ShapeSlots(capacity: n) }
    }

    func submit(_ chunk: sending ShapeChunk, startWorker: Bool) {
        let canStart = startWorker && worker != nil
        let (start, backlog) = queue.withLock { q in
            q.chunks.append(chunk)
            let start = canStart && !q.workerRunning && !q.closed
            if start {
                q.workerStarted = true
                q.workerRunning = true
            }
            return (start, q.workerStarted ? q.chunks.count - q.head : 0)
        }
        if start, let worker {
            let join = worker.start { [self] in
                while let c = take(stoppingWorker: true) { build(c) }
            }
            queue.withLock { $0.joins.append(join) }
        }
        // The worker is behind: build one chunk here.
        if backlog >= 3, let c = take() { build(c) }
    }

    /// The next queued chunk, or nil; `stoppingWorker`: the worker job asks, and when there is
    /// none it stops in the same lock (a chunk submitted after that starts another job).
    private func take(stoppingWorker: Bool = false) -> ShapeChunk? {
        queue.withLock { q in
            guard q.head < q.chunks.count else {
                if stoppingWorker { q.workerRunning = false }
                return nil
            }
            let c = q.chunks[q.head]
            q.chunks[q.head] = ShapeChunk(index: -1, firstID: 0)
            q.head += 1
            if q.head == q.chunks.count {
                q.chunks.removeAll(keepingCapacity: true)
                q.head = 0
            }
            return c
        }
    }

    private func build(_ chunk: ShapeChunk) {
        // In place when the chunk fits the announced size (its range is its own: no other thread
        // writes there), else as an array.
        let target = slots.withLock { $0 }
        let start = Int(chunk.firstID)
        let inPlace = target.map { start + chunk.count <= $0.capacity } ?? false
        var shapes: [PatternShape] = []
        if inPlace { chunk.buildShapes(into: target!.base + start) } else { shapes = chunk.buildShapes() }
        let hashes = chunk.nameHashes()
        built.withLock { s in
            while s.shapes.count <= chunk.index {
                s.shapes.append([])
                s.nameHashes.append([])
            }
            if inPlace {
                s.inSlots.insert(chunk.index)
                target!.filled.append(start..<(start + chunk.count))
            } else {
                s.shapes[chunk.index] = shapes
            }
            s.nameHashes[chunk.index] = hashes
        }
        names.withLock { n in
            guard n.complete else { return }
            var id = chunk.firstID
            for h in hashes {
                if !n.index.insertDeferred(id, hash: h, suspects: &n.suspects) {
                    n.complete = false
                    return
                }
                id += 1
            }
        }
    }

    /// No worker job starts after this (one running finishes the queue or leaves it to `drain`).
    func close() {
        queue.withLock { $0.closed = true }
    }

    /// Builds what is still queued on this thread.
    func drain() {
        while let c = take() { build(c) }
    }

    /// The shapes in id order, their name index, and the first name seen twice (a damaged store).
    func collect() -> (shapes: [PatternShape], idByName: PatternNameIndex, duplicate: String?) {
        // After `close()`: no job starts any more, so the list is complete.
        for join in queue.withLock({ $0.joins }) { join() }
        let target = slots.withLock { t in
            let taken = t
            t = nil
            return taken
        }
        let (shapes, hashes) = built.withLock { s in
            let hashes = s.nameHashes
            let total = hashes.reduce(0) { $0 + $1.count }
            let out: [PatternShape]
            if let target, s.inSlots.count == s.shapes.count, let moved = target.moveOut(count: total) {
                // Every chunk was built in place: one move, no retain/release per shape.
                out = moved
            } else {
                var copied: [PatternShape] = []
                copied.reserveCapacity(total)
                var start = 0
                for (c, shapes) in s.shapes.enumerated() {
                    let n = hashes[c].count
                    if s.inSlots.contains(c) {
                        copied.append(contentsOf: UnsafeBufferPointer(start: target!.base + start, count: n))
                    } else {
                        copied.append(contentsOf: shapes)
                    }
                    start += n
                }
                out = copied
            }
            // Moved out, not shared: the knowledge base's first learn must not copy them.
            s = Built()
            return (out, hashes)
        }
        let filled = names.withLock { n in
            let taken = n
            n = Names()
            return taken
        }
        var duplicate: String?
        if filled.complete && filled.index.count == shapes.count {
            for (a, b) in filled.suspects where shapes[Int(a)].name == shapes[Int(b)].name {
                duplicate = shapes[Int(Swift.max(a, b))].name
                break
            }
            return (shapes, filled.index, duplicate)
        }
        var index = PatternNameIndex(minimumCapacity: shapes.count)
        var id: Int32 = 0
        for chunk in hashes {
            for h in chunk {
                if index.insert(id, hash: h, in: shapes) != nil, duplicate == nil { duplicate = shapes[Int(id)].name }
                id += 1
            }
        }
        return (shapes, index, duplicate)
    }
}

/// Uninitialized storage for `capacity` shapes that chunks are built into (each chunk its own id
/// range, from whichever thread builds it), then moved into an `Array` in one go. `filled` (the
/// initialized ranges) is only touched under the pipeline's lock; whatever was not moved out is
/// released at deinit (a load abandoned half-way).
final class ShapeSlots: @unchecked Sendable {
    let base: UnsafeMutablePointer<PatternShape>
    let capacity: Int
    var filled: [Range<Int>] = []

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: Swift.max(capacity, 1))
    }

    /// The first `count` shapes as an array, when exactly the ranges covering `0..<count` are filled.
    func moveOut(count: Int) -> [PatternShape]? {
        let ranges = filled.sorted { $0.lowerBound < $1.lowerBound }
        var next = 0
        for r in ranges {
            guard r.lowerBound == next else { return nil }
            next = r.upperBound
        }
        guard next == count else { return nil }
        filled = []
        return [PatternShape](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.moveInitialize(from: base, count: count) }
            initialized = count
        }
    }

    deinit {
        for r in filled { (base + r.lowerBound).deinitialize(count: r.count) }
        base.deallocate()
    }
}

/// Closes the loader's pipeline when the last copy of the loader is gone: no worker job is
/// started for it after that.
final class PipelineCloser: Sendable {
    let pipeline: ShapePipeline
    init(_ pipeline: ShapePipeline) { self.pipeline = pipeline }
    deinit { pipeline.close() }
}
