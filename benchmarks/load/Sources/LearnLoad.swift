// kato-load --mode learn: durable learns end to end over gRPC (docs/BENCHMARKS.md, store section).
// `writers` concurrent writers, each with its own session on one node, learn random patterns of
// 3 events × 2 symbols (from `vocabulary`, 10,000 by default) for `seconds` (or until `learns` in
// all); every learn is acknowledged only once it is on disk, so concurrent writers share fsyncs through the server's group commit.
//   --learn-rpc sequence       one ObserveSequence(3 events, learn_at_end) per learn (as e2e_learns.py)
//   --learn-rpc observe-learn  3 Observe + 1 Learn per learn (latency = all four calls)
//   --learn-predictions false  sessions created with process_predictions = false (no prediction
//                              pass after each observation: the learn path alone)
import Foundation
import GRPCH2
import KatoClient
import KatoProto
import KatoSupport

enum LearnLoad {
    struct Result: Sendable {
        var latencies: [Double] = []
        var errors = 0
        var firstError: String?
    }

    static func run(host: String, port: Int, connections: Int, writers: Int, seconds: Double, rpc: String, node: String,
                    predictions: Bool, reconnect: Bool = true,
                    learns: Int = 0, vocabulary: Int = 10_000, seed: Int = 0) async throws {
        guard rpc == "sequence" || rpc == "observe-learn" else {
            throw ValidationFailure(message: "--learn-rpc must be sequence or observe-learn")
        }
        var opened: [GRPCClient] = []
        for _ in 0..<connections {
            var configuration = GRPCClient.Configuration(host: host, port: port)
            configuration.reconnects = reconnect  // after GOAWAY (a restart) new calls go over a new connection
            let g = GRPCClient(configuration: configuration)
            try await g.connect()
            opened.append(g)
        }
        let grpcs = opened
        let clients = grpcs.map { KatoClient(grpc: $0, defaultTimeout: .seconds(30)) }
        var sessions: [KatoSession] = []
        var config = Kato_V2_SessionConfig()
        config.processPredictions = predictions
        for w in 0..<writers {
            sessions.append(try await clients[w % clients.count].createSession(nodeID: node, config: predictions ? nil : config))
        }
        let clock = ContinuousClock()
        // With `learns`, each writer does its share (the first `learns % writers` one more).
        let perWriter = learns / writers, extra = learns % writers
        let vocabulary = UInt64(max(vocabulary, 1))
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let all = await withTaskGroup(of: Result.self) { group in
            for w in 0..<writers {
                let session = sessions[w]
                group.addTask {
                    var r = Result()
                    var rng = SplitMix64(seed: UInt64(w) &+ 0x5eed &+ UInt64(seed) &* 0x1_0000)
                    let quota = perWriter + (w < extra ? 1 : 0)
                    var done = 0
                    while learns > 0 ? done < quota : clock.now < deadline {
                        done += 1
                        let events = (0..<3).map { _ in ["s\(rng.next() % vocabulary)", "s\(rng.next() % vocabulary)"] }
                        let t0 = clock.now
                        let grpc = grpcs[w % connections]
                        do {
                            if rpc == "sequence" {
                                var request = Kato_V2_ObserveSequenceRequest()
                                request.sessionID = session.sessionID
                                request.nodeID = node
                                request.learnAtEnd = true
                                request.observations = events.map { strings in
                                    var o = Kato_V2_Observation()
                                    o.strings = strings
                                    return o
                                }
                                _ = try await grpc.unary(Kato_V2_ObserveService.observeSequence, request, timeout: .seconds(30))
                            } else {
                                for e in events { try await session.observe(e) }
                                let name = try await session.learn()
                                if name.isEmpty { throw ValidationFailure(message: "learn returned no pattern") }
                            }
                            r.latencies.append((clock.now - t0).seconds * 1e6)
                        } catch {
                            r.errors += 1
                            if r.firstError == nil { r.firstError = "\(error)" }
                        }
                    }
                    return r
                }
            }
            var merged = Result()
            for await r in group {
                merged.latencies.append(contentsOf: r.latencies)
                merged.errors += r.errors
                if merged.firstError == nil { merged.firstError = r.firstError }
            }
            return merged
        }
        let elapsed = (clock.now - start).seconds
        let sorted = all.latencies.sorted()
        func percentile(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[Int((q * Double(sorted.count - 1)).rounded())] }
        var report: [String: Any] = [
            "mode": "learn", "learn_rpc": rpc, "process_predictions": predictions, "writers": writers, "connections": connections, "node": node,
            "vocabulary": Int(vocabulary), "learn_seed": seed,
            "learns": sorted.count, "errors": all.errors, "reconnects": grpcs.reduce(0) { $0 + $1.reconnectCount }, "seconds": elapsed,
            "learns_per_s": Double(sorted.count) / elapsed,
            "learn_p50_ms": percentile(0.5) / 1000, "learn_p99_ms": percentile(0.99) / 1000,
        ]
        if let e = all.firstError { report["first_error"] = e }
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        for g in grpcs { await g.close() }
        if all.errors > 0 { throw ExitCodeError() }
    }

    struct ValidationFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    struct ExitCodeError: Error {}

}
