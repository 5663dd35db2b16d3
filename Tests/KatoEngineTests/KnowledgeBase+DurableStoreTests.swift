import Dispatch
import XCTest
@testable import KatoEngine
import KatoSupport

/// `KnowledgeBaseLoader` (the durable store's start-up path) must build exactly the knowledge base
/// that learning built: same snapshot (patterns in order, statistics, totals), same name lookups,
/// same predictions — over several 4096-pattern chunks (second thread, shapes built in place) and
/// symbols that are short, longer than 16 bytes, non-ASCII or need JSON escaping.
final class KnowledgeBaseLoaderTests: XCTestCase {
    typealias SplitMix = SplitMix64

    static func symbol(_ k: Int) -> String {
        switch k % 5 {
        case 0: return "s\(k)"
        case 1: return "a-symbol-longer-than-sixteen-bytes-\(k)"
        case 2: return "ü名\(k)"
        case 3: return "q\"\\\(k)"
        default: return "x\(k)"
        }
    }

    func learned(patterns: Int) -> KnowledgeBase {
        let kb = KnowledgeBase()
        var rng = SplitMix(state: 42)
        for i in 0..<patterns {
            let events = (0..<(1 + rng.int(0...2))).map { _ in (0..<(1 + rng.int(0...2))).map { _ in Self.symbol(rng.int(0...599)) } }
            guard events.joined().count >= 2 else { continue }
            let emotives: [String: Double] = i % 7 == 0 ? ["joy": Double(i % 5) - 2] : [:]
            let metadata: [String: [String]] = i % 11 == 0 ? ["k": ["v\(i % 3)"]] : [:]
            kb.learn(events: events, emotives: emotives, metadata: metadata, persistence: 5)
            if i % 13 == 0 { kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5) }
        }
        return kb
    }

    /// A second thread for the shape builder, as KatoStore lends one (the engine starts none).
    static let thread = LoaderWorker { job in
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            job()
            done.leave()
        }
        return { done.wait() }
    }

    /// `snapshot` fed to a loader as the store feeds it: whole `String`s, or (`bytes`) symbols and
    /// names as UTF-8 bytes with the shapes built on the worker (EventWireTests uses it too).
    static func load(_ snapshot: KnowledgeBaseSnapshot, announce: Bool, bytes: Bool, worker: LoaderWorker? = thread) -> KnowledgeBaseLoader {
        var loader = KnowledgeBaseLoader(expectedPatterns: announce ? snapshot.patterns.count : 0, worker: worker)
        for p in snapshot.patterns {
            if bytes {
                for event in p.events {
                    for symbol in event {
                        var s = symbol
                        s.withUTF8 { loader.addSymbol(UnsafeRawBufferPointer($0)) }
                    }
                    loader.endEvent()
                }
                var name = p.name
                name.withUTF8 {
                    loader.appendPattern(name: UnsafeRawBufferPointer($0), frequency: p.frequency, emotives: p.emotives, metadata: p.metadata)
                }
            } else {
                loader.append(name: p.name, events: p.events, frequency: p.frequency, emotives: p.emotives, metadata: p.metadata)
            }
        }
        XCTAssertNil(loader.duplicateName())
        for (symbol, stats) in snapshot.symbols where !stats.emotives.isEmpty { loader.setSymbolEmotives(symbol, stats.emotives) }
        return loader
    }

    func predictions(_ kb: KnowledgeBase) throws -> [[Prediction]] {
        let engine = KatoEngine(knowledgeBase: kb)
        var session = try SessionState(config: EngineConfig(recallThreshold: 0.05))
        var out: [[Prediction]] = []
        for k in stride(from: 0, to: 600, by: 37) {
            try engine.observe(Observation(strings: [Self.symbol(k), Self.symbol(k + 1)]), in: &session)
            try engine.observe(Observation(strings: [Self.symbol(k + 2)]), in: &session)
            out.append(session.predictions)
            engine.clearSTM(in: &session)
        }
        return out
    }

    func testLoaderBuildsTheLearnedKnowledgeBase() throws {
        let original = learned(patterns: 9_500)
        let snapshot = original.snapshot()
        XCTAssertGreaterThan(snapshot.patterns.count, 2 * 4096)
        let expected = try predictions(original)
        XCTAssertFalse(expected.joined().isEmpty)
        let cases: [(Bool, Bool, LoaderWorker?)] = [(true, true, Self.thread), (false, true, Self.thread), (true, false, Self.thread), (true, true, nil)]
        for (announce, bytes, worker) in cases {
            let kb = KnowledgeBase(loaded: Self.load(snapshot, announce: announce, bytes: bytes, worker: worker))
            XCTAssertEqual(kb.snapshot(), snapshot, "announce \(announce), bytes \(bytes), worker \(worker != nil)")
            for p in snapshot.patterns.prefix(500) { XCTAssertEqual(kb.pattern(named: p.name), p) }
            XCTAssertNil(kb.pattern(named: String(repeating: "0", count: 40)))
            XCTAssertEqual(try predictions(kb), expected, "announce \(announce), bytes \(bytes)")
            // Learning goes on from the loaded state exactly as from the learned one.
            let events = [["s0"], [Self.symbol(1), "new"]]
            XCTAssertEqual(kb.learn(events: events, emotives: [:], metadata: [:], persistence: 5),
                           KnowledgeBase(snapshot: snapshot).learn(events: events, emotives: [:], metadata: [:], persistence: 5))
        }
    }

    func testDuplicateNameIsReported() {
        let snapshot = learned(patterns: 5_000).snapshot()
        var loader = KnowledgeBaseLoader(expectedPatterns: snapshot.patterns.count + 1)
        for p in snapshot.patterns + [snapshot.patterns[4200]] {
            loader.append(name: p.name, events: p.events, frequency: p.frequency, emotives: p.emotives, metadata: p.metadata)
        }
        XCTAssertEqual(loader.duplicateName(), snapshot.patterns[4200].name)
    }

    func testAbandonedLoadReleasesItsWorker() {
        // A load that stops half-way (a damaged row) must not leave the shape builder waiting.
        for _ in 0..<20 {
            var loader = KnowledgeBaseLoader(expectedPatterns: 10_000, worker: Self.thread)
            for i in 0..<5_000 { loader.append(name: "n\(i)", events: [["a\(i % 50)"], ["b"]], frequency: 1, emotives: nil, metadata: [:]) }
            _ = loader
        }
    }
}
