import Dispatch
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
        for name in names { if let id = s.idByName[name] { ids.append(id) } }
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
        let fresh = loader.finish()
        state.withLock { $0 = fresh }
    }
}

/// Builds a knowledge base from stored patterns in learn order: the pattern's id is the order of
/// ``append(name:events:frequency:emotives:metadata:)`` calls; symbol frequencies, pattern-member
/// frequencies and the totals are summed from the patterns (each learn of a pattern counted them
/// once, and its frequency counts its learns); emotive sums come from ``setSymbolEmotives(_:_:)``.
public struct KnowledgeBaseLoader: Sendable {
    /// Everything but `shapes` is filled as patterns are appended; the shapes (the costly part:
    /// similarity text, JSON, hashes) are built on a second thread, chunk by chunk, while this one
    /// goes on reading, and put in place by ``finish()``.
    var built = KnowledgeState()
    /// Per symbol id: summed frequency, pattern-member frequency, and the last pattern id seen
    /// (to count each symbol once per pattern without sorting).
    private var symbolFrequency: [Int] = []
    private var memberFrequency: [Int] = []
    private var lastPattern: [Int32] = []
    private var emotiveSums: [(Int32, [String: Double])] = []
    private var pending: [ShapeInput] = []
    private var duplicate: String?
    private var chunks = 0
    private let shapeBuilder = ShapeBuilder()

    struct ShapeInput: Sendable {
        var name: String
        var events: [[String]]
        var flat: [Int32]
    }

    /// Builds pattern shapes and the name → id map off the loading thread (one serial queue, so
    /// chunks are processed in order).
    final class ShapeBuilder: Sendable {
        struct Done {
            var shapes: [Int: [PatternShape]] = [:]
            var idByName: [String: Int32] = [:]
            /// The first name seen twice (a damaged store), if any.
            var duplicate: String?
        }

        let queue = DispatchQueue(label: "kato.kb-loader.shapes")
        let group = DispatchGroup()
        let done = Mutex(Done())

        func reserve(_ n: Int) {
            done.withLock { $0.idByName.reserveCapacity(n) }
        }

        /// Queues a chunk; `built` holds its shapes when the loading thread built them itself.
        func submit(_ chunk: Int, firstID: Int32, _ inputs: [ShapeInput], built: [PatternShape]? = nil) {
            queue.async(group: group) { [self] in
                let shapes = built ?? inputs.map { PatternShape(name: $0.name, events: $0.events, flatIds: $0.flat) }
                done.withLock { d in
                    d.shapes[chunk] = shapes
                    var id = firstID
                    for input in inputs {
                        if d.idByName.updateValue(id, forKey: input.name) != nil, d.duplicate == nil { d.duplicate = input.name }
                        id += 1
                    }
                }
            }
        }

        func collect(_ chunks: Int) -> (shapes: [PatternShape], idByName: [String: Int32], duplicate: String?) {
            group.wait()
            return done.withLock { d in
                var out: [PatternShape] = []
                out.reserveCapacity(d.shapes.values.reduce(0) { $0 + $1.count })
                for c in 0..<chunks { out.append(contentsOf: d.shapes[c] ?? []) }
                // Moved out, not shared: the knowledge base's first learn must not copy them.
                let names = d.idByName
                let duplicate = d.duplicate
                d = Done()
                return (out, names, duplicate)
            }
        }
    }

    static let chunkSize = 4096

    public init(expectedPatterns: Int = 0) {
        if expectedPatterns > 0 {
            built.records.reserveCapacity(expectedPatterns)
            shapeBuilder.reserve(expectedPatterns)
        }
    }

    /// Number of patterns appended so far (= the id of the next one).
    public var patternCount: Int { built.records.count }

    /// Appends the next pattern (its id is the number of patterns appended before it). The indexes
    /// are those of `KnowledgeState.insertShape` (same ids, postings, partitions). Names must be
    /// unique: ``duplicateName()`` tells, once every pattern is appended.
    public mutating func append(
        name: String, events: [[String]], frequency: Int, emotives: [[String: Double]]?, metadata: [String: [String]]
    ) {
        var flat: [Int32] = []
        flat.reserveCapacity(events.reduce(0) { $0 + $1.count })
        for event in events { for symbol in event { flat.append(built.intern(symbol)) } }
        let id = Int32(built.records.count)
        built.records.append(PatternRecord(frequency: frequency, emotives: emotives, metadata: metadata))
        let symbols = built.symbolNames.count
        if symbolFrequency.count < symbols {
            let grow = symbols - symbolFrequency.count
            symbolFrequency.append(contentsOf: repeatElement(0, count: grow))
            memberFrequency.append(contentsOf: repeatElement(0, count: grow))
            lastPattern.append(contentsOf: repeatElement(-1, count: grow))
        }
        var distinct = 0
        for sym in flat {
            let i = Int(sym)
            symbolFrequency[i] &+= frequency
            if lastPattern[i] != id {
                // First occurrence in this pattern: one posting per pattern, in id order.
                lastPattern[i] = id
                memberFrequency[i] &+= frequency
                built.postings[i].append(id)
                distinct += 1
            }
        }
        built.partitions[flat.count / KnowledgeState.partitionSize, default: []].append(id)
        built.totals.totalPatternFrequencies += frequency
        built.totals.totalSymbolFrequencies += flat.count * frequency
        built.totals.totalSymbolsInPatternsFrequencies += distinct * frequency
        pending.append(ShapeInput(name: name, events: events, flat: flat))
        if pending.count >= Self.chunkSize {
            flush()
            pending.reserveCapacity(Self.chunkSize)
        }
    }

    /// One chunk in `inlineShapesEvery` has its shapes built on the loading thread: the second thread
    /// has more to do per pattern (shapes and names) than this one, this evens them out on 2 cores.
    static let inlineShapesEvery = 8

    private mutating func flush() {
        guard !pending.isEmpty else { return }
        let inline = chunks % Self.inlineShapesEvery == Self.inlineShapesEvery - 1
            ? pending.map { PatternShape(name: $0.name, events: $0.events, flatIds: $0.flat) } : nil
        shapeBuilder.submit(chunks, firstID: Int32(built.records.count - pending.count), pending, built: inline)
        chunks += 1
        pending = []
    }

    /// A pattern name appended twice (the store is damaged), or nil. Call after the last append.
    public mutating func duplicateName() -> String? {
        _ = finish()
        return duplicate
    }

    /// Sets the stored emotive sums of `symbol`.
    public mutating func setSymbolEmotives(_ symbol: String, _ sums: [String: Double]) {
        let id = built.intern(symbol)
        if symbolFrequency.count < built.symbolNames.count {
            let grow = built.symbolNames.count - symbolFrequency.count
            symbolFrequency.append(contentsOf: repeatElement(0, count: grow))
            memberFrequency.append(contentsOf: repeatElement(0, count: grow))
            lastPattern.append(contentsOf: repeatElement(-1, count: grow))
        }
        emotiveSums.append((id, sums))
    }

    /// The finished state: shapes in place, statistics filled in.
    mutating func finish() -> KnowledgeState {
        flush()
        var s = built
        if s.shapes.count != s.records.count {
            (s.shapes, s.idByName, duplicate) = shapeBuilder.collect(chunks)
        }
        precondition(s.shapes.count == s.records.count, "knowledge-base loader: shapes and records differ")
        for i in 0..<s.symbolStats.count {
            s.symbolStats[i].frequency = symbolFrequency[i]
            s.symbolStats[i].patternMemberFrequency = memberFrequency[i]
        }
        for (id, sums) in emotiveSums { s.symbolStats[Int(id)].emotives = sums }
        built = s
        return s
    }
}
