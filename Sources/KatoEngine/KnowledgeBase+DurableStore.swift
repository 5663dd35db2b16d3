import Synchronization

/// Support for the durable store's schema v2 (`KatoStore`): patterns are keyed by their position
/// in learn order (the engine's pattern id), symbol frequencies and totals are derived from the
/// patterns at load, and only the per-symbol emotive sums — which cannot be recomputed from the
/// patterns' rolling emotive windows — are stored besides the patterns.
///
/// Nothing here changes how the knowledge base learns or predicts: ``KnowledgeBaseLoader`` builds
/// the same state as ``KnowledgeBase/restore(_:)`` of a consistent snapshot (same pattern ids, same
/// symbol ids, same statistics and totals — the sums `kato-server verify` checks).

/// What the store writes after some learns, read from one consistent state of the knowledge base.
public struct DurableImage: Sendable {
    /// A touched pattern with its id (its position in learn order, 0-based).
    public struct Row: Sendable {
        public var id: Int
        public var pattern: Pattern

        public init(id: Int, pattern: Pattern) {
            self.id = id
            self.pattern = pattern
        }
    }

    /// Touched patterns that exist, by increasing id.
    public var patterns: [Row]
    /// Current emotive sums of the symbols of touched patterns that were ever learned with
    /// emotives (only non-empty sums). Every learn that changes a symbol's sums is such a learn.
    public var symbolEmotives: [String: [String: Double]]
    /// Number of patterns in the knowledge base (ids `0..<patternCount`).
    public var patternCount: Int

    public init(patterns: [Row], symbolEmotives: [String: [String: Double]], patternCount: Int) {
        self.patterns = patterns
        self.symbolEmotives = symbolEmotives
        self.patternCount = patternCount
    }
}

extension KnowledgeBase {
    /// The durable image of the patterns named `names` (bare hashes); names of patterns that do
    /// not exist (e.g. after a clear) are skipped. O(touched patterns + their symbols).
    public func durableImage(of names: some Sequence<String>) -> DurableImage {
        let s = view()
        var ids: [Int32] = []
        for name in names { if let id = s.id(named: name) { ids.append(id) } }
        ids.sort()
        var rows: [DurableImage.Row] = []
        rows.reserveCapacity(ids.count)
        var emotives: [String: [String: Double]] = [:]
        for id in ids {
            rows.append(DurableImage.Row(id: Int(id), pattern: s.pattern(id)))
            guard s.records[Int(id)].emotives != nil else { continue }
            for sym in s.shapes[Int(id)].flatIds {
                let sums = s.symbolStats[Int(sym)].emotives
                if !sums.isEmpty { emotives[s.symbolNames[Int(sym)]] = sums }
            }
        }
        return DurableImage(patterns: rows, symbolEmotives: emotives, patternCount: s.shapes.count)
    }

    /// Creates a knowledge base holding what `loader` built.
    public convenience init(loaded loader: consuming KnowledgeBaseLoader) {
        self.init()
        restore(loader)
    }

    /// Replaces the whole state with what `loader` built.
    public func restore(_ loader: consuming KnowledgeBaseLoader) {
        var loader = loader
        var fresh = loader.finish()
        state.withLock { s in
            fresh.writes = s.writes &+ 1
            s = fresh
        }
    }
}

/// Builds a knowledge base from stored patterns in learn order: the pattern's id is the order in
/// which patterns are appended; symbol frequencies, pattern-member frequencies and the totals are
/// summed from the patterns (each learn of a pattern counted them once, and its frequency counts its
/// learns); emotive sums come from ``setSymbolEmotives(_:_:)``.
///
/// A pattern is appended either whole (``append(name:events:frequency:emotives:metadata:)``) or from
/// its stored bytes: ``addSymbol(_:)`` for each symbol of an event, ``endEvent()`` after each event,
/// then ``appendPattern(name:frequency:emotives:metadata:)``. The byte form interns symbols by their
/// UTF-8 bytes (no `String` is made for a symbol already seen) and is what the store uses.
///
/// Work split: this thread interns symbols and sums the statistics; the pattern shapes (the costly
/// part: similarity text, hashes, one object and a few arrays per pattern) and the name index are
/// built chunk by chunk (4096 patterns) by a second thread — and by this one whenever the second
/// falls behind, and at the end — so both cores stay busy. Postings and partitions are built in one
/// pass at ``finish()`` with exact capacities. (A loader is used by one thread; copies share state.)
public struct KnowledgeBaseLoader: Sendable {
    /// Symbol names/ids, records and totals are filled as patterns are appended; postings,
    /// partitions, statistics and shapes are put in place by ``finish()``.
    var built = KnowledgeState()
    /// Per symbol id: summed frequency, pattern-member frequency, number of patterns containing it,
    /// and the last pattern id seen (to count each symbol once per pattern without sorting).
    private var symbolTotals: [SymbolTotals] = []

    struct SymbolTotals {
        var frequency = 0
        var memberFrequency = 0
        var memberCount: Int32 = 0
        var lastPattern: Int32 = -1
    }

    /// The distinct symbols of every pattern, pattern after pattern (`postingEnds[p]` ends pattern p's).
    private var postingSymbols: [Int32] = []
    private var postingEnds: [Int32] = []
    /// `floor(length / 10)` → pattern ids, as an array while loading.
    private var partitionLists: [[Int32]] = []
    private var emotiveSums: [(Int32, [String: Double])] = []
    private var table = SymbolTable()
    /// The chunk being filled, and where the pattern being added starts in it.
    private var chunk = ShapeChunk(index: 0, firstID: 0)
    private var patternFlatStart = 0
    private var eventFlatStart = 0
    private let pipeline: ShapePipeline
    /// Closes the pipeline when the last copy of the loader goes away, so no worker job starts
    /// even when a load is abandoned half-way (a damaged row).
    private let closer: PipelineCloser
    private var indexed = false
    private var duplicate: String?
    /// Ids of deleted patterns (``appendDeleted()``), turned into tombstones once indexed.
    private var deletions: [Int32] = []

    static let chunkSize = 4096

    /// - Parameter worker: where shapes are built besides the loading thread (the engine starts
    ///   no thread); nil builds them all on the loading thread.
    public init(expectedPatterns: Int = 0, worker: LoaderWorker? = nil) {
        pipeline = ShapePipeline(worker: worker)
        closer = PipelineCloser(pipeline)
        if expectedPatterns > 0 {
            built.records.reserveCapacity(expectedPatterns)
            postingEnds.reserveCapacity(expectedPatterns)
            pipeline.expect(expectedPatterns)
        }
        chunk.reserve()
    }

    /// Number of patterns appended so far (= the id of the next one).
    public var patternCount: Int { built.records.count }

    /// Appends the next pattern (its id is the number of patterns appended before it). The indexes
    /// are those of `KnowledgeState.insertShape` (same ids, postings, partitions). Names must be
    /// unique: ``duplicateName()`` tells, once every pattern is appended.
    public mutating func append(
        name: String, events: [[String]], frequency: Int, emotives: [[String: Double]]?, metadata: [String: [String]]
    ) {
        for event in events {
            for symbol in event {
                var s = symbol
                s.withUTF8 { addSymbol(UnsafeRawBufferPointer($0)) }
            }
            endEvent()
        }
        var n = name
        n.withUTF8 { appendPattern(name: UnsafeRawBufferPointer($0), frequency: frequency, emotives: emotives, metadata: metadata) }
    }

    /// Appends a deleted pattern's place (the store keeps its id as a tombstone): an empty
    /// placeholder that ``finish()`` deletes as ``KnowledgeBase/delete(named:)`` did, so ids, the
    /// statistics and totals are those of the knowledge base that deleted it.
    public mutating func appendDeleted() {
        let id = Int32(built.records.count)
        deletions.append(id)
        var name = "deleted:\(id)"  // never a pattern hash (not hex), so never a duplicate name
        name.withUTF8 { appendPattern(name: UnsafeRawBufferPointer($0), frequency: 1, emotives: nil, metadata: [:]) }
    }

    /// Adds a symbol (its UTF-8 bytes) to the current event of the pattern being appended.
    public mutating func addSymbol(_ utf8: UnsafeRawBufferPointer) {
        let id = table.find(utf8) ?? newSymbol(utf8)
        chunk.flat.append(id)
        chunk.symbols.append(built.symbolNames[Int(id)])
    }

    /// Ends the current event of the pattern being appended.
    public mutating func endEvent() {
        chunk.eventSizes.append(Int32(chunk.flat.count - eventFlatStart))
        eventFlatStart = chunk.flat.count
    }

    /// Appends the pattern whose events were given by ``addSymbol(_:)`` / ``endEvent()`` since the
    /// previous pattern; `name` is the bare hash's UTF-8 bytes.
    public mutating func appendPattern(
        name: UnsafeRawBufferPointer, frequency: Int, emotives: [[String: Double]]?, metadata: [String: [String]]
    ) {
        let id = Int32(built.records.count)
        built.records.append(PatternRecord(frequency: frequency, emotives: emotives, metadata: metadata))
        let length = chunk.flat.count - patternFlatStart
        var distinct = 0
        for k in patternFlatStart..<chunk.flat.count {
            let sym = chunk.flat[k]
            let i = Int(sym)
            symbolTotals[i].frequency &+= frequency
            if symbolTotals[i].lastPattern != id {
                // First occurrence in this pattern: one posting per pattern, in id order.
                symbolTotals[i].lastPattern = id
                symbolTotals[i].memberFrequency &+= frequency
                symbolTotals[i].memberCount &+= 1
                postingSymbols.append(sym)
                distinct += 1
            }
        }
        postingEnds.append(Int32(postingSymbols.count))
        let partition = length / KnowledgeState.partitionSize
        while partitionLists.count <= partition { partitionLists.append([]) }
        partitionLists[partition].append(id)
        built.totals.totalPatternFrequencies += frequency
        built.totals.totalSymbolFrequencies += length * frequency
        built.totals.totalSymbolsInPatternsFrequencies += distinct * frequency
        chunk.names.append(contentsOf: name)
        chunk.nameEnds.append(Int32(chunk.names.count))
        chunk.patternFlatEnds.append(Int32(chunk.flat.count))
        chunk.patternEventEnds.append(Int32(chunk.eventSizes.count))
        patternFlatStart = chunk.flat.count
        eventFlatStart = chunk.flat.count
        if chunk.count >= Self.chunkSize { flush(last: false) }
    }

    private mutating func newSymbol(_ utf8: UnsafeRawBufferPointer) -> Int32 {
        // Interned by String too: byte sequences that decode to the same String (invalid UTF-8
        // repaired alike) share one id, as when symbols were interned as Strings.
        let id = built.intern(String(decoding: utf8, as: UTF8.self))
        table.insert(utf8, id: id)
        while symbolTotals.count < built.symbolNames.count { symbolTotals.append(SymbolTotals()) }
        return id
    }

    /// Hands the current chunk to the shape builders (the last one is built on this thread).
    private mutating func flush(last: Bool) {
        let next = ShapeChunk(index: chunk.index + 1, firstID: Int32(built.records.count))
        var full = next
        swap(&full, &chunk)
        chunk.reserve()
        patternFlatStart = 0
        eventFlatStart = 0
        if full.count > 0 { pipeline.submit(full, startWorker: !last) }
    }

    /// A pattern name appended twice (the store is damaged), or nil. Call after the last append.
    public mutating func duplicateName() -> String? {
        _ = finish()
        return duplicate
    }

    /// Sets the stored emotive sums of `symbol`.
    public mutating func setSymbolEmotives(_ symbol: String, _ sums: [String: Double]) {
        var s = symbol
        let id = s.withUTF8 { table.find(UnsafeRawBufferPointer($0)) ?? newSymbol(UnsafeRawBufferPointer($0)) }
        emotiveSums.append((id, sums))
    }

    /// The finished state: shapes, postings and partitions in place, statistics filled in.
    mutating func finish() -> KnowledgeState {
        if !indexed { buildIndexes() }
        var s = built
        for (id, sums) in emotiveSums { s.symbolStats[Int(id)].emotives = sums }
        return s
    }

    private mutating func buildIndexes() {
        indexed = true
        flush(last: true)
        pipeline.close()
        // While the shape builder finishes: postings (exact sizes), partitions, statistics.
        let symbols = symbolTotals.count
        var offsets = [Int](repeating: 0, count: symbols + 1)
        for i in 0..<symbols { offsets[i + 1] = offsets[i] + Int(symbolTotals[i].memberCount) }
        var csr = [Int32](repeating: 0, count: offsets[symbols])
        postingSymbols.withUnsafeBufferPointer { syms in
            csr.withUnsafeMutableBufferPointer { out in
                offsets.withUnsafeMutableBufferPointer { next in
                    var k = 0
                    for (p, end) in postingEnds.enumerated() {
                        while k < Int(end) {
                            let sym = Int(syms[k])
                            out[next[sym]] = Int32(p)
                            next[sym] += 1
                            k += 1
                        }
                    }
                }
            }
        }
        postingSymbols = []
        postingEnds = []
        // `offsets[i]` now ends symbol i's range (it was advanced past it).
        built.postings = csr.withUnsafeBufferPointer { buf in
            (0..<symbols).map { i in
                let end = offsets[i]
                return Array(buf[(end - Int(symbolTotals[i].memberCount))..<end])
            }
        }
        var partitions: [Int: [Int32]] = [:]
        for (p, ids) in partitionLists.enumerated() where !ids.isEmpty { partitions[p] = ids }
        partitionLists = []
        built.partitions = partitions
        for i in 0..<built.symbolStats.count {
            built.symbolStats[i].frequency = symbolTotals[i].frequency
            built.symbolStats[i].patternMemberFrequency = symbolTotals[i].memberFrequency
        }
        // Help with the shapes still queued, then collect.
        pipeline.drain()
        let collected = pipeline.collect()
        built.shapes = collected.shapes
        built.idByName = collected.idByName
        duplicate = collected.duplicate
        precondition(built.shapes.count == built.records.count, "knowledge-base loader: shapes and records differ")
        for id in deletions { built.delete(id) }
    }
}

final class PipelineCloser: Sendable {
    let pipeline: ShapePipeline
    init(_ pipeline: ShapePipeline) { self.pipeline = pipeline }
    deinit { pipeline.close() }
}

/// Patterns of one chunk, as flat buffers (one allocation per field for the whole chunk).
struct ShapeChunk: Sendable {
    var index: Int
    var firstID: Int32
    var flat: [Int32] = []
    var symbols: [String] = []
    var eventSizes: [Int32] = []
    var patternFlatEnds: [Int32] = []
    var patternEventEnds: [Int32] = []
    var names: [UInt8] = []
    var nameEnds: [Int32] = []

    var count: Int { patternFlatEnds.count }

    mutating func reserve() {
        let n = KnowledgeBaseLoader.chunkSize
        patternFlatEnds.reserveCapacity(n)
        patternEventEnds.reserveCapacity(n)
        nameEnds.reserveCapacity(n)
        names.reserveCapacity(40 * n)
    }

    /// The name hashes of the chunk's patterns, in id order.
    func nameHashes() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        names.withUnsafeBytes { bytes in
            var start = 0
            for end in nameEnds {
                out.append(PatternNameIndex.hash(utf8: UnsafeRawBufferPointer(rebasing: bytes[start..<Int(end)])))
                start = Int(end)
            }
        }
        return out
    }

    /// The chunk's pattern shapes, in id order.
    func buildShapes() -> [PatternShape] {
        var shapes: [PatternShape] = []
        shapes.reserveCapacity(count)
        buildShapes { shapes.append($0) }
        return shapes
    }

    /// Initializes `count` shapes at `target` (uninitialized memory), in id order.
    func buildShapes(into target: UnsafeMutablePointer<PatternShape>) {
        var p = target
        buildShapes { shape in
            p.initialize(to: shape)
            p += 1
        }
    }

    private func buildShapes(_ emit: (PatternShape) -> Void) {
        var flatStart = 0, eventStart = 0, nameStart = 0
        var previousEnds: [Int] = []
        names.withUnsafeBufferPointer { nameBytes in
            for p in 0..<count {
                let flatEnd = Int(patternFlatEnds[p]), eventEnd = Int(patternEventEnds[p]), nameEnd = Int(nameEnds[p])
                // Patterns with the same event sizes share one `eventEnds` array.
                var same = previousEnds.count == eventEnd - eventStart
                var end = 0
                if same {
                    for (k, e) in (eventStart..<eventEnd).enumerated() {
                        end += Int(eventSizes[e])
                        if previousEnds[k] != end { same = false; break }
                    }
                }
                let ends: [Int]
                if same {
                    ends = previousEnds
                } else {
                    var fresh: [Int] = []
                    fresh.reserveCapacity(eventEnd - eventStart)
                    end = 0
                    for e in eventStart..<eventEnd {
                        end += Int(eventSizes[e])
                        fresh.append(end)
                    }
                    ends = fresh
                    previousEnds = fresh
                }
                var patternSymbols: [String] = []
                patternSymbols.reserveCapacity(flatEnd - flatStart)
                for i in flatStart..<flatEnd { patternSymbols.append(symbols[i]) }
                var ids: [Int32] = []
                ids.reserveCapacity(flatEnd - flatStart)
                for i in flatStart..<flatEnd { ids.append(flat[i]) }
                let name = String(decoding: UnsafeBufferPointer(rebasing: nameBytes[nameStart..<nameEnd]), as: UTF8.self)
                emit(PatternShape(name: name, symbols: patternSymbols, eventEnds: ends, flatIds: ids))
                flatStart = flatEnd
                eventStart = eventEnd
                nameStart = nameEnd
            }
        }
    }
}

/// A thread the caller lends a `KnowledgeBaseLoader` to build pattern shapes while rows are still
/// being read (KatoStore's loads give one): the engine itself starts no thread and blocks on
/// nothing of its own. `start(job)` runs `job` once on another thread and returns at once a
/// function that, called, returns when `job` has returned.
public struct LoaderWorker: Sendable {
    public var start: @Sendable (_ job: @escaping @Sendable () -> Void) -> @Sendable () -> Void

    public init(start: @escaping @Sendable (_ job: @escaping @Sendable () -> Void) -> @Sendable () -> Void) {
        self.start = start
    }
}

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
