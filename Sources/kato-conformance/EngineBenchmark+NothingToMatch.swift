import Foundation
import KatoEngine

/// Issue 15: an empty knowledge base, or an STM with nothing to match, should cost next to nothing.
/// `kato-conformance --bench N --nothing-to-match CASE [--markdown]` times the observe with
/// predictions (the same ``EngineBenchmark/predictionQuery(_:_:_:)``, so
/// `benchmarks/engine/callgrind.sh N --nothing-to-match CASE` counts it) in three cases:
/// - `empty`: no pattern learned; the workload's queries (STM of 2 events);
/// - `unknown`: N patterns; STM of 2 events whose symbols are in no pattern;
/// - `long-unknown`: N patterns; an STM of 1,000 events of unknown symbols, then the observe.
extension EngineBenchmark {
    static func nothingToMatch(patternCount n: Int, case name: String, markdown: Bool) -> Int32 {
        guard ["empty", "unknown", "long-unknown"].contains(name) else { return usage() }
        let pats = patterns(count: n)
        let qs = queries(patterns: pats)
        let config = EngineConfig(
            maxPatternLength: 0, persistence: 5, recallThreshold: 0.1, stmMode: .clear, maxPredictions: 100,
            sortSymbols: true, processPredictions: false)
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var session = try! SessionState(config: config)
        if name != "empty" {
            for p in pats {
                for e in p { _ = try! engine.observe(Observation(strings: e), in: &session) }
                engine.learn(in: &session)
            }
        }
        let clock = ContinuousClock()
        var wall: [Double] = [], cpu: [Double] = []
        for (i, (a, b)) in qs.predictionPairs.enumerated() {
            engine.clearSTM(in: &session)
            session.config.processPredictions = false
            switch name {
            case "empty":
                _ = try! engine.observe(Observation(strings: a), in: &session)
            case "unknown":
                _ = try! engine.observe(Observation(strings: ["unknown-a\(i)", "unknown-b\(i)"]), in: &session)
            default:
                for k in 0..<1000 { _ = try! engine.observe(Observation(strings: ["unknown\(k)", "other\(k)"]), in: &session) }
            }
            session.config.processPredictions = true
            let obs = name == "empty" ? Observation(strings: b) : Observation(strings: ["unknown-c\(i)"])
            let c0 = cpuSeconds(process: false)
            let t0 = clock.now
            predictionQuery(engine, obs, &session)
            wall.append(seconds(clock.now - t0) * 1e6)
            cpu.append((cpuSeconds(process: false) - c0) * 1e6)
            precondition(session.predictions.isEmpty, "nothing-to-match case produced predictions")
        }
        let kb = name == "empty" ? 0 : n
        let stm = name == "long-unknown" ? "1,001 events" : "2 events"
        if markdown {
            print("| \(name) | \(kb) | \(stm) | \(fmt(percentile(wall, 0.5), 2)) / \(fmt(percentile(wall, 0.99), 2)) | "
                + "\(fmt(percentile(cpu, 0.5), 2)) / \(fmt(percentile(cpu, 0.99), 2)) |")
        } else {
            print("\(name): KB \(kb) patterns, STM \(stm): observe+predict p50 \(fmt(percentile(wall, 0.5), 2)) µs, "
                + "p99 \(fmt(percentile(wall, 0.99), 2)) µs (CPU p50 \(fmt(percentile(cpu, 0.5), 2)) µs)")
        }
        return 0
    }
}
