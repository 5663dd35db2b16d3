import XCTest
@testable import KatoEngine
import KatoSupport

/// `EventWire`: the protobuf bytes each pattern keeps of its events (built with its shape on every
/// path — learn, restore, the bulk loader in both its forms) are exactly the repeated `Event`
/// field a protobuf encoder writes, for every run a prediction or a future potential reads, with
/// symbols that are empty, non-ASCII, need escaping, are long (length varints of two bytes) and
/// events of more than 64 symbols (bodies longer than 127 bytes).
final class EventWireTests: XCTestCase {
    /// The reference: repeated `Event` (field 1) written the plain way, one symbol at a time.
    static func reference(_ events: some Collection<[String]>, field: Int = 1) -> [UInt8] {
        func varint(_ v: Int, into out: inout [UInt8]) {
            var v = UInt(v)
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        var out: [UInt8] = []
        for e in events {
            var body: [UInt8] = []
            for s in e {
                body.append(0x0A)
                varint(s.utf8.count, into: &body)
                body.append(contentsOf: s.utf8)
            }
            out.append(UInt8(field << 3 | 2))
            varint(body.count, into: &out)
            out.append(contentsOf: body)
        }
        return out
    }

    /// `wire` re-tagged as field `field` the way the encoders do it.
    static func tagged(_ wire: EventWire, _ field: Int) -> [UInt8] {
        var out = Array(wire.bytes)
        for i in 0..<wire.eventCount { out[wire.eventOffset(i)] = UInt8(field << 3 | 2) }
        return out
    }

    /// One to three random symbols and "s1" (so that something always matches the learned patterns).
    static func randomEvent(_ rng: inout SplitMix64) -> Observation {
        Observation(strings: (0..<(1 + rng.below(3))).map { _ in symbol(&rng) }.filter { !$0.isEmpty } + ["s1"])
    }

    static func symbol(_ rng: inout SplitMix64) -> String {
        switch rng.below(9) {
        case 0: return ""
        case 1: return "é\(rng.below(5))"
        case 2: return "q\"\\\(rng.below(5))"
        case 3: return String(repeating: "long-", count: 30) + "\(rng.below(3))"  // 150+ bytes: a 2-byte length
        case 4: return "名\(rng.below(4))"
        default: return "s\(rng.below(12))"
        }
    }

    static func randomEvents(_ rng: inout SplitMix64) -> [[String]] {
        (0..<(1 + rng.below(4))).map { _ in
            let n = rng.below(12) == 0 ? 65 + rng.below(80) : 1 + rng.below(4)
            return (0..<n).map { _ in symbol(&rng) }
        }
    }

    func assertEveryRunMatches(_ kb: KnowledgeBase, file: StaticString = #filePath, line: UInt = #line) {
        let s = kb.view()
        var checked = 0
        for p in kb.snapshot().patterns {
            guard let id = s.id(named: p.name) else { return XCTFail("no shape for \(p.name)", file: file, line: line) }
            let shape = s.shapes[Int(id)]
            let n = p.events.count
            for lo in 0...n {
                for hi in lo...n {
                    let wire = shape.eventWire(lo..<hi)
                    XCTAssertEqual(wire.eventCount, hi - lo, file: file, line: line)
                    XCTAssertEqual(Array(wire.bytes), Self.reference(p.events[lo..<hi]), file: file, line: line)
                    XCTAssertEqual(wire.byteCount, wire.bytes.count, file: file, line: line)
                    XCTAssertEqual(Self.tagged(wire, 11), Self.reference(p.events[lo..<hi], field: 11), file: file, line: line)
                    // The raw run the encoders copy (empty runs included), at the end of `packed`.
                    XCTAssertEqual(Array(shape.wireRun(lo, hi)), Self.reference(p.events[lo..<hi]), file: file, line: line)
                    wire.withUnsafeBytes { XCTAssertEqual(Array($0), Array(wire.bytes), file: file, line: line) }
                    checked += 1
                }
            }
            XCTAssertEqual(Array(shape.nameWire), Self.nameField(p.name), file: file, line: line)
        }
        XCTAssertGreaterThan(checked, 100, file: file, line: line)
    }

    /// `kato.v2.Prediction.name` (field 2) written the plain way; nothing for an empty name.
    static func nameField(_ name: String) -> [UInt8] {
        guard !name.isEmpty else { return [] }
        var out: [UInt8] = [0x12]
        var v = UInt(name.utf8.count)
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out + Array(name.utf8)
    }

    /// Each pattern keeps its name as field 2 after its events (fourth wire pass): empty, non-ASCII
    /// and 200-byte names (a 2-byte length); and what a computed prediction's `wireView` hands out
    /// (name, events, starts, present range, frequency; `nil` once a field is set explicitly).
    func testNamesAreKeptAsField2AfterTheEvents() throws {
        for name in ["", "a", "名前é", String(repeating: "n", count: 200), "0123456789abcdef0123456789abcdef01234567"] {
            for events in [[["x"]], [["", "é"], ["y"]], [[String(repeating: "long-", count: 30)]]] {
                let shape = PatternShape(name: name, events: events, flatIds: Array(0..<Int32(events.joined().count)))
                XCTAssertEqual(Array(shape.nameWire), Self.nameField(name), "\(name) \(events)")
                XCTAssertEqual(Array(shape.wireRun(0, events.count)), Self.reference(events))
            }
        }
        let engine = KatoEngine(knowledgeBase: learned())
        var rng = SplitMix64(state: 9)
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.05))
        var seen = 0
        for _ in 0..<10 {
            try engine.observe(Self.randomEvent(&rng), in: &session)
            let list = session.predictions
            for (i, p) in list.enumerated() {
                let view = try XCTUnwrap(list.wireView(at: i))
                XCTAssertEqual(Array(view.head.name), Self.nameField(p.name))
                XCTAssertFalse(view.head.hasEmotives)  // learned without emotives
                XCTAssertEqual(view.frequency, p.frequency)
                XCTAssertEqual(view.eventCount, p.sequence.count)
                XCTAssertEqual(Array(view.eventBytes), Self.reference(p.sequence))
                for k in 0...view.eventCount {
                    XCTAssertEqual(view.eventOffset(k), Self.reference(p.sequence.prefix(k)).count)
                }
                XCTAssertEqual(view.present, p.past.count..<(p.past.count + p.present.count))
                XCTAssertEqual(view.bits.presentSymbols, p.present.joined().count)
                var explicit = list
                explicit[i].type = "x"
                XCTAssertNil(explicit.wireView(at: i))
                seen += 1
            }
        }
        XCTAssertGreaterThan(seen, 10)
    }

    func learned() -> KnowledgeBase {
        let kb = KnowledgeBase()
        var rng = SplitMix64(state: 7)
        for _ in 0..<80 {
            let events = Self.randomEvents(&rng)
            guard events.joined().count >= 2 else { continue }
            kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5)
        }
        return kb
    }

    func testLearnedPatternsKeepTheirEventsAsProtobufBytes() {
        assertEveryRunMatches(learned())
    }

    func testRestoredAndLoadedPatternsKeepTheSameBytes() {
        let snapshot = learned().snapshot()
        let restored = KnowledgeBase()
        restored.restore(snapshot)
        assertEveryRunMatches(restored)
        for bytes in [false, true] {  // bytes: the store's form, shapes built on the worker
            let loader = KnowledgeBaseLoaderTests.load(snapshot, announce: true, bytes: bytes)
            let loaded = KnowledgeBase(loaded: loader)
            assertEveryRunMatches(loaded)
        }
    }

    /// What a prediction and a future potential hand an encoder: their own runs of the pattern,
    /// `nil` where the field is a selection or was set explicitly.
    func testPredictionsAndFuturePotentialsHandOutTheirRuns() throws {
        let engine = KatoEngine(knowledgeBase: learned())
        var rng = SplitMix64(state: 8)
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.05))
        var seen = 0, futures = 0
        for _ in 0..<20 {
            try engine.observe(Self.randomEvent(&rng), in: &session)
            for p in session.predictions {
                for (field, number) in [(Prediction.EventsField.past, 6), (.present, 7), (.future, 8), (.sequence, 11)] {
                    let wire = try XCTUnwrap(p.eventWire(field))
                    XCTAssertEqual(Self.tagged(wire, number), Self.reference(p.events(field), field: number))
                }
                XCTAssertNil(p.eventWire(.missing))
                XCTAssertNil(p.eventWire(.extras))
                var explicit = p
                explicit.future = [["x"]]
                XCTAssertNil(explicit.eventWire(.future))
                XCTAssertNotNil(explicit.eventWire(.past))
                seen += 1
            }
            for f in session.futurePotentials {
                XCTAssertEqual(Array(try XCTUnwrap(f.futureWire).bytes), Self.reference(f.future))
                futures += 1
            }
        }
        XCTAssertNil(FuturePotential(future: [["a"]], aggregatePotential: 1, supportingPatterns: 1, totalWeightedFrequency: 1).futureWire)
        XCTAssertGreaterThan(seen, 20)
        XCTAssertGreaterThan(futures, 5)
    }

    /// The accessors the encoders read a list through without copying its values (third wire pass):
    /// `futureWireBytes(at:)` is each future's bytes, `nil` for an explicit future; the prefetch
    /// hints accept every element, explicit ones and explicit predictions included.
    func testListsHandOutFutureBytesInPlace() throws {
        let engine = KatoEngine(knowledgeBase: learned())
        var rng = SplitMix64(state: 9)
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.05))
        var futures = 0, empty = 0
        for _ in 0..<20 {
            try engine.observe(Self.randomEvent(&rng), in: &session)
            let explicit = FuturePotential(future: [["é", ""], []], aggregatePotential: 1, supportingPatterns: 1, totalWeightedFrequency: 1)
            // The computed list (records read in place) and a list of values, explicit ones at its ends.
            let computed = session.futurePotentials
            let mixed = FuturePotentials([explicit] + computed + [explicit])
            for (list, explicitAtEnds) in [(computed, false), (mixed, true)] {
                for i in list.indices {
                    list.prefetchFuturePattern(at: i)
                    list.prefetchFutureWire(at: i)
                    let numbers = list.numbers(at: i)
                    XCTAssertEqual(numbers.aggregatePotential, list[i].aggregatePotential)
                    XCTAssertEqual(numbers.supportingPatterns, list[i].supportingPatterns)
                    XCTAssertEqual(numbers.totalWeightedFrequency, list[i].totalWeightedFrequency)
                    if explicitAtEnds && (i == 0 || i == list.count - 1) {
                        XCTAssertNil(list.futureWireBytes(at: i))
                        continue
                    }
                    let bytes = try XCTUnwrap(list.futureWireBytes(at: i))
                    XCTAssertEqual(Array(bytes), Self.reference(list[i].future))
                    XCTAssertEqual(Array(try XCTUnwrap(list[i].futureWireBytes)), Array(bytes))
                    futures += 1
                    if bytes.isEmpty { empty += 1 }
                }
            }
            var predictions = session.predictions
            if !predictions.isEmpty { predictions[0].future = [["x"]] }
            for i in predictions.indices { predictions.prefetchWire(at: i) }
        }
        XCTAssertGreaterThan(futures, 5)
        XCTAssertEqual(empty, 0)  // the engine's futures are never empty (a candidate needs a future)
    }
}
