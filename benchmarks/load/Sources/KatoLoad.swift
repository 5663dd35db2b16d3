// kato-load: many sessions observing concurrently against a running kato-server.
// Each session observes its own unique symbols, then checks that its STM holds exactly
// those (a cross-session leak would show up as a foreign or missing symbol).
//
//   kato-load --port 50051 --sessions 10000 --observations 10 --connections 4 --concurrency 512
// Prints one JSON line with the results; exits 1 on any error or leak.
// `--mode learn` measures durable learns instead (LearnLoad.swift):
//   kato-load --mode learn --port 50051 --writers 256 --seconds 10 --learn-rpc sequence
import ArgumentParser
import Foundation
import GRPCH2
import KatoClient

@main
struct KatoLoad: AsyncParsableCommand {
    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "Sessions to create.") var sessions = 10_000
    @Option(help: "Observations per session.") var observations = 10
    @Option(help: "TCP connections (calls are spread over them).") var connections = 4
    @Option(help: "Calls in flight at once.") var concurrency = 512
    @Option(help: "Distinct node ids the sessions are spread over.") var nodes = 10
    @Option(help: "observe (sessions under load) or learn (durable learns, LearnLoad.swift).") var mode = "observe"
    @Option(help: "learn mode: concurrent writers, one session each.") var writers = 64
    @Option(help: "learn mode: how long to learn.") var seconds = 10.0
    @Option(help: "learn mode: sequence (ObserveSequence + learn_at_end) or observe-learn (3 Observe + Learn).") var learnRpc = "sequence"
    @Option(help: "learn mode: node id.") var learnNode = "learn-bench"
    @Option(help: "learn mode: false creates the sessions with process_predictions = false.") var learnPredictions = true
    @Option(help: "learn mode: stop after this many learns in all (0: run for --seconds).") var learns = 0
    @Option(help: "learn mode: distinct symbols the random patterns are drawn from.") var vocabulary = 10_000
    @Option(help: "learn mode: added to every writer's seed (another value: other patterns).") var learnSeed = 0
    @Flag(name: .customLong("no-reconnect"), help: "One connection each for the whole run: the client does not open a new one after the server's GOAWAY (a restart), so calls after it fail.") var noReconnect = false

    func run() async throws {
        if mode == "learn" {
            do {
                try await LearnLoad.run(host: host, port: port, connections: connections, writers: writers,
                                        seconds: seconds, rpc: learnRpc, node: learnNode, predictions: learnPredictions,
                                        reconnect: !noReconnect, learns: learns, vocabulary: vocabulary, seed: learnSeed)
            } catch is LearnLoad.ExitCodeError {
                throw ExitCode(1)
            }
            return
        }
        var connected: [KatoClient] = []
        for _ in 0..<connections {
            var configuration = GRPCClient.Configuration(host: host, port: port)
            configuration.reconnects = !noReconnect
            let grpc = GRPCClient(configuration: configuration)
            try await grpc.connect()
            connected.append(KatoClient(grpc: grpc, defaultTimeout: .seconds(30)))
        }
        let clients = connected
        let clock = ContinuousClock()
        let total = sessions, perSession = observations, workers = min(concurrency, sessions), nodeCount = nodes

        // 1. Sessions.
        let createStart = clock.now
        let created = try await withThrowingTaskGroup(of: [(Int, KatoSession)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    var mine: [(Int, KatoSession)] = []
                    for i in stride(from: w, to: total, by: workers) {
                        let client = clients[i % clients.count]
                        mine.append((i, try await client.createSession(nodeID: "load-node-\(i % nodeCount)")))
                    }
                    return mine
                }
            }
            var all = [KatoSession?](repeating: nil, count: total)
            for try await batch in group { for (i, s) in batch { all[i] = s } }
            return all.map { $0! }
        }
        let createSeconds = (clock.now - createStart).seconds

        // 2. Observe: every worker cycles over its sessions so all of them stay active.
        let observeStart = clock.now
        let results = await withTaskGroup(of: (latencies: [Double], errors: Int).self) { group in
            for w in 0..<workers {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    let mine = Array(stride(from: w, to: total, by: workers))
                    latencies.reserveCapacity(mine.count * perSession)
                    for k in 0..<perSession {
                        for i in mine {
                            let t0 = clock.now
                            do {
                                try await created[i].observe(["s\(i)-\(k)"])
                                latencies.append((clock.now - t0).seconds * 1e6)
                            } catch {
                                errors += 1
                            }
                        }
                    }
                    return (latencies, errors)
                }
            }
            var all: [Double] = []
            var errors = 0
            for await r in group {
                all.append(contentsOf: r.latencies)
                errors += r.errors
            }
            return (all, errors)
        }
        let observeSeconds = (clock.now - observeStart).seconds

        // 3. Every session checks its own STM.
        let leaks = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<workers {
                group.addTask {
                    var leaks = 0
                    for i in stride(from: w, to: total, by: workers) {
                        let expected = (0..<perSession).map { ["s\(i)-\($0)"] }
                        if try await created[i].stm() != expected { leaks += 1 }
                    }
                    return leaks
                }
            }
            return try await group.reduce(0, +)
        }

        let sorted = results.0.sorted()
        func percentile(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[Int((q * Double(sorted.count - 1)).rounded())] }
        let report: [String: Any] = [
            "sessions": total, "observations_per_session": perSession, "connections": connections,
            "concurrency": workers, "observe_calls": sorted.count, "errors": results.1, "leaks": leaks,
            "create_rps": Double(total) / createSeconds, "observe_rps": Double(sorted.count) / observeSeconds,
            "observe_p50_us": percentile(0.5), "observe_p99_us": percentile(0.99),
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        for client in clients { await client.close() }
        if results.1 > 0 || leaks > 0 { throw ExitCode(1) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
