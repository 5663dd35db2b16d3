import Foundation
import KatoEngine

/// The engine workload of `/work/shared/bench/README.md` ("Engine workload"), reproduced exactly:
/// the KB comes from a re-implementation of Python's `random.Random(42)`, queries from `random.Random(7)`.
///
/// `kato-conformance --bench N [--markdown]` runs it; `--bench-verify FIXTURE` checks the generator
/// against hashes recorded with CPython (benchmarks/engine/workload_fixture.json).
enum EngineBenchmark {
    static let vocabulary = vocabulary(size: 500)

    /// `[f"sym{i:03d}" for i in range(size)]`.
    static func vocabulary(size: Int) -> [String] {
        (0..<size).map { i -> String in
            let s = String(i)
            return "sym" + String(repeating: "0", count: max(0, 3 - s.count)) + s
        }
    }

    /// The growing-vocabulary variant (issue 15): 500 symbols per 10,000 patterns, never fewer than 500
    /// (so N ≤ 10,000 is the reference workload itself; 100,000 → 5,000 symbols, 1,000,000 → 50,000).
    static func grownVocabularySize(patterns n: Int) -> Int { max(500, n / 20) }

    /// `[[r.sample(vocab, r.randint(2, 4)) for _ in range(r.randint(3, 6))] for _ in range(N)]`.
    static func patterns(count: Int, vocabulary: [String] = vocabulary) -> [[[String]]] {
        var r = PyRandom(seed: 42)
        return (0..<count).map { _ in
            let events = r.randint(3, 6)
            return (0..<events).map { _ in
                let k = r.randint(2, 4)
                return r.sample(vocabulary, k)
            }
        }
    }

    struct Queries {
        var observeEvents: [[String]] = []
        var predictionPairs: [([String], [String])] = []
    }

    static func queries(patterns pats: [[[String]]]) -> Queries {
        var qr = PyRandom(seed: 7)
        var q = Queries()
        for _ in 0..<300 { q.observeEvents.append(qr.choice(qr.choice(pats))) }
        let count = pats.count <= 1000 ? 200 : 100
        for _ in 0..<count {
            let base = qr.choice(pats)
            let st = qr.randint(0, base.count - 2)
            q.predictionPairs.append((base[st], base[st + 1]))
        }
        return q
    }

    static func reprOfPatterns(_ pats: [[[String]]]) -> String {
        "[" + pats.map(PythonRepr.events).joined(separator: ", ") + "]"
    }

    static func main(_ args: [String]) -> Int32 {
        guard let first = args.first else { return usage() }
        if first == "--verify" {
            guard args.count >= 2 else { return usage() }
            return verify(fixture: args[1])
        }
        guard let n = Int(first), n > 0 else { return usage() }
        if let i = args.firstIndex(of: "--nothing-to-match") {
            guard i + 1 < args.count else { return usage() }
            return nothingToMatch(patternCount: n, case: args[i + 1], markdown: args.contains("--markdown"))
        }
        let vocabularySize = args.contains("--growing-vocabulary") ? grownVocabularySize(patterns: n) : 500
        var partitions = 1
        if let i = args.firstIndex(of: "--partitions"), i + 1 < args.count, let p = Int(args[i + 1]), p > 0 { partitions = p }
        var minimumPerPartition = 256
        if let i = args.firstIndex(of: "--split-candidates"), i + 1 < args.count, let m = Int(args[i + 1]), m > 0 { minimumPerPartition = m }
        let result = run(patternCount: n, vocabularySize: vocabularySize, partitions: partitions, minimumPerPartition: minimumPerPartition)
        if args.contains("--markdown") {
            print(result.markdownRow)
        } else {
            print(result.description)
            if consumer == .wire, wireResponses > 0 {  // the encoder's budget (issue 15, fourth wire pass)
                print("mean GetPredictions response: \(fmt(Double(wireBytes) / Double(wireResponses), 0)) bytes")
            }
        }
        return 0
    }

    static func usage() -> Int32 {
        print("usage: kato-conformance --bench N [--growing-vocabulary] [--partitions P [--split-candidates M]] [--nothing-to-match empty|unknown|long-unknown] [--consumer in-place|per-symbol|arrays|wire|none] [--markdown] | --bench --verify FIXTURE.json")
        return 2
    }

    struct Result: CustomStringConvertible {
        var patterns: Int
        var vocabularySize: Int
        var learnPerSecond: Double
        var observe: (p50: Double, p99: Double)          // ms
        var observePredict: (p50: Double, p99: Double)   // ms
        /// The same in CPU time (less sensitive to other processes on a shared machine): the thread's,
        /// or with partitions the process's (all threads).
        var observePredictCPU: (p50: Double, p99: Double)  // ms
        var getPredictions: (p50: Double, p99: Double)   // µs
        var meanPredictions: Double
        var meanFuturePotentials: Double
        var bytesPerPattern: Double

        var description: String {
            """
            patterns: \(patterns) (vocabulary \(vocabularySize) symbols)
            learn: \(fmt(learnPerSecond, 0)) patterns/s
            observe (no predictions): p50 \(fmt(observe.p50, 4)) ms, p99 \(fmt(observe.p99, 4)) ms
            observe+predict (STM 2 events): p50 \(fmt(observePredict.p50, 4)) ms, p99 \(fmt(observePredict.p99, 4)) ms \
            (CPU time: p50 \(fmt(observePredictCPU.p50, 4)) ms, p99 \(fmt(observePredictCPU.p99, 4)) ms)
            get_predictions: p50 \(fmt(getPredictions.p50, 3)) µs, p99 \(fmt(getPredictions.p99, 3)) µs
            mean #predictions: \(fmt(meanPredictions, 1)), mean #future potentials: \(fmt(meanFuturePotentials, 1))
            memory: \(fmt(bytesPerPattern, 0)) bytes/pattern (RSS growth while learning)
            """
        }

        var markdownRow: String {
            "| \(patterns)\(vocabularySize == 500 ? "" : " (\(vocabularySize) symbols)") | \(fmt(learnPerSecond, 0)) | \(fmt(observe.p50, 5)) / \(fmt(observe.p99, 5)) | "
                + "\(fmt(observePredict.p50, 3)) / \(fmt(observePredict.p99, 3)) | "
                + "\(fmt(observePredictCPU.p50, 3)) / \(fmt(observePredictCPU.p99, 3)) | "
                + "\(fmt(getPredictions.p50, 3)) / \(fmt(getPredictions.p99, 3)) | \(fmt(meanPredictions, 1)) | "
                + "\(fmt(meanFuturePotentials, 0)) | \(fmt(bytesPerPattern, 0)) |"
        }
    }

    /// `partitions` > 1: large predictions are split over that many Dispatch threads
    /// (``PredictionParallelism``); the timed figures are then wall time across cores.
    static func run(patternCount n: Int, vocabularySize: Int = 500, partitions: Int = 1, minimumPerPartition: Int = 256) -> Result {
        let pats = patterns(count: n, vocabulary: vocabulary(size: vocabularySize))
        let qs = queries(patterns: pats)
        let config = EngineConfig(
            maxPatternLength: 0, persistence: 5, recallThreshold: 0.1, stmMode: .clear, maxPredictions: 100,
            sortSymbols: true, processPredictions: false)
        var engine = KatoEngine(knowledgeBase: KnowledgeBase())
        if partitions > 1 {
            // 256 candidates per piece at least by default: the workload's grown-vocabulary queries have ≈1,500.
            engine.parallelism = PredictionParallelism(partitions: partitions, minimumCandidatesPerPartition: minimumPerPartition) { count, work in
                DispatchQueue.concurrentPerform(iterations: count, execute: work)
            }
        }
        var session = try! SessionState(config: config)
        let clock = ContinuousClock()

        // Learn throughput.
        let rssBefore = residentBytes()
        let learnStart = clock.now
        for p in pats {
            for e in p { _ = try! engine.observe(Observation(strings: e), in: &session) }
            engine.learn(in: &session)
        }
        let learnSeconds = seconds(clock.now - learnStart)
        let rssAfter = residentBytes()

        // Observe latency without predictions.
        var observeSamples: [Double] = []
        for e in qs.observeEvents {
            engine.clearSTM(in: &session)
            let obs = Observation(strings: e)
            let t0 = clock.now
            _ = try! engine.observe(obs, in: &session)
            observeSamples.append(seconds(clock.now - t0) * 1e3)
        }

        // Observe with predictions (STM of 2 events) and get_predictions.
        var predictSamples: [Double] = []
        var predictCPUSamples: [Double] = []
        var getSamples: [Double] = []
        var predictionCounts = 0
        var futureCounts = 0
        for (a, b) in qs.predictionPairs {
            engine.clearSTM(in: &session)
            session.config.processPredictions = false
            _ = try! engine.observe(Observation(strings: a), in: &session)
            session.config.processPredictions = true
            let obs = Observation(strings: b)
            let c0 = cpuSeconds(process: partitions > 1)
            let t0 = clock.now
            predictionQuery(engine, obs, &session)
            predictSamples.append(seconds(clock.now - t0) * 1e3)
            predictCPUSamples.append((cpuSeconds(process: partitions > 1) - c0) * 1e3)
            let t1 = clock.now
            let count = getPredictions(session)
            getSamples.append(seconds(clock.now - t1) * 1e6)
            predictionCounts += count
            futureCounts += session.futurePotentials.count
        }
        return Result(
            patterns: n, vocabularySize: vocabularySize, learnPerSecond: Double(n) / learnSeconds,
            observe: (percentile(observeSamples, 0.5), percentile(observeSamples, 0.99)),
            observePredict: (percentile(predictSamples, 0.5), percentile(predictSamples, 0.99)),
            observePredictCPU: (percentile(predictCPUSamples, 0.5), percentile(predictCPUSamples, 0.99)),
            getPredictions: (percentile(getSamples, 0.5), percentile(getSamples, 0.99)),
            meanPredictions: Double(predictionCounts) / Double(qs.predictionPairs.count),
            meanFuturePotentials: Double(futureCounts) / Double(qs.predictionPairs.count),
            bytesPerPattern: Double(max(0, rssAfter - rssBefore)) / Double(n))
    }

    /// The timed query: observe with predictions, then get_predictions read whole by ``consume(_:)``
    /// (issue 15: work a compact prediction leaves to its reader is counted). Its own symbol so that
    /// callgrind can count it alone (`benchmarks/engine/callgrind.sh` toggles collection on
    /// `*predictionQuery*`).
    @inline(never)
    static func predictionQuery(_ engine: KatoEngine, _ obs: Observation, _ session: inout SessionState) {
        _ = try! engine.observe(obs, in: &session)
        consume(session)
    }

    /// get_predictions: the cached list of the last observe (KATO semantics).
    @inline(never)
    static func getPredictions(_ session: SessionState) -> Int {
        session.predictions.count
    }

    /// Nearest rank: `sorted[round(q·(n−1))]`, Python's round-half-to-even.
    static func percentile(_ samples: [Double], _ q: Double) -> Double {
        let sorted = samples.sorted()
        let index = Int((q * Double(sorted.count - 1)).rounded(.toNearestOrEven))
        return sorted[index]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// CPU time of the calling thread, or of the whole process (all threads of a partitioned query).
    static func cpuSeconds(process: Bool) -> Double {
        var ts = timespec()
        clock_gettime(process ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func fmt(_ x: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", x)
    }

    /// Compares the generated KB and query streams with hashes recorded from CPython.
    static func verify(fixture path: String) -> Int32 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let json = try? JSON.parse(text), let cases = json.arrayValue else {
            print("cannot read fixture \(path)")
            return 2
        }
        var failures = 0
        for c in cases {
            let n = c["n"]?.intValue ?? 0
            let v = c["vocabulary"]?.intValue ?? 500
            let pats = patterns(count: n, vocabulary: vocabulary(size: v))
            let qs = queries(patterns: pats)
            let kbHash = Naming.sha1Hex(reprOfPatterns(pats))
            let obsHash = Naming.sha1Hex(PythonRepr.events(qs.observeEvents))
            let pairRepr = "[" + qs.predictionPairs.map { PythonRepr.events([$0.0, $0.1]) }.joined(separator: ", ") + "]"
            let pairHash = Naming.sha1Hex(pairRepr)
            for (key, actual) in [("kb_sha1", kbHash), ("observe_queries_sha1", obsHash), ("prediction_queries_sha1", pairHash)] {
                let expected = c[key]?.stringValue ?? ""
                if expected != actual {
                    print("N=\(n) V=\(v) \(key): expected \(expected), actual \(actual)")
                    failures += 1
                }
            }
            if let firstPattern = c["first_pattern"], case .array = firstPattern {
                let actual = ConformanceRunner.events(pats[0])
                if actual != firstPattern {
                    print("N=\(n) first_pattern: expected \(firstPattern.text), actual \(actual.text)")
                    failures += 1
                }
            }
        }
        print(failures == 0 ? "workload generator matches CPython (\(cases.count) sizes)" : "\(failures) mismatches")
        return failures == 0 ? 0 : 1
    }
}
