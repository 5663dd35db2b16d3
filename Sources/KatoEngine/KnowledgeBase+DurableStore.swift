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
        built.postings = ChunkedArray(csr.withUnsafeBufferPointer { buf in
            (0..<symbols).map { i in
                let end = offsets[i]
                return Array(buf[(end - Int(symbolTotals[i].memberCount))..<end])
            }
        })
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
        built.shapes = ChunkedArray(collected.shapes)
        built.summaries = ChunkedArray(built.shapes.lazy.map(PatternSummary.init))
        built.idByName = collected.idByName
        duplicate = collected.duplicate
        precondition(built.shapes.count == built.records.count, "knowledge-base loader: shapes and records differ")
        for id in deletions { built.delete(id) }
    }
}
