// kato-load --mode learn: durable learns end to end over gRPC (docs/BENCHMARKS.md, store section).
// `writers` concurrent writers, each with its own session on one node, learn random patterns of
// 3 events × 2 symbols (from 10,000) for `seconds`; every learn is acknowledged only once it is on
// disk, so concurrent writers share fsyncs through the server's group commit.
//   --learn-rpc sequence       one ObserveSequence(3 events, learn_at_end) per learn (as e2e_learns.py)
//   --learn-rpc observe-learn  3 Observe + 1 Learn per learn (latency = all four calls)
//   --learn-predictions false  sessions created with process_predictions = false (no prediction
//                              pass after each observation: the learn path alone)
import Foundation
import GRPCH2
import KatoClient
import KatoProto

enum LearnLoad {
    struct Result: Sendable {
        var latencies: [Double] = []
        var errors = 0
        var retried = 0
        var firstError: String?
    }

    static func run(host: String, port: Int, connections: Int, writers: Int, seconds: Double, rpc: String, node: String,
                    predictions: Bool, reconnect: Bool = false) async throws {
        guard rpc == "sequence" || rpc == "observe-learn" else {
            throw ValidationFailure(message: "--learn-rpc must be sequence or observe-learn")
        }
        var grpcs: [GRPCClient] = []
        for _ in 0..<connections {
            let g = GRPCClient(configuration: GRPCClient.Configuration(host: host, port: port))
            try await g.connect()
            grpcs.append(g)
        }
        let clients = grpcs.map { KatoClient(grpc: $0, defaultTimeout: .seconds(30)) }
        var sessions: [KatoSession] = []
        var config = Kato_V2_SessionConfig()
        config.processPredictions = predictions
        for w in 0..<writers {
            sessions.append(try await clients[w % clients.count].createSession(nodeID: node, config: predictions ? nil : config))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let pool = Reconnecting(grpcs, host: host, port: port)
        let all = await withTaskGroup(of: Result.self) { group in
            for w in 0..<writers {
                let session = sessions[w]
                group.addTask {
                    var r = Result()
                    var rng = SplitMix(seed: UInt64(w) &+ 0x5eed)
                    while clock.now < deadline {
                        let events = (0..<3).map { _ in ["s\(rng.next() % 10_000)", "s\(rng.next() % 10_000)"] }
                        let t0 = clock.now
                        var attempt = 0
                        while true {
                        let grpc = await pool.client(w % connections)
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
                        } catch let error as RPCError where reconnect && error.code == .unavailable && attempt < 50 && rpc == "sequence" {
                            // GOAWAY (a restart): the call was refused or its connection is gone;
                            // a new connection reaches the server that now holds the port.
                            attempt += 1
                            r.retried += 1
                            await pool.replace(w % connections, failed: grpc)
                            try? await Task.sleep(for: .milliseconds(20))
                            continue
                        } catch {
                            r.errors += 1
                            if r.firstError == nil { r.firstError = "\(error)" }
                        }
                        break
                        }
                    }
                    return r
                }
            }
            var merged = Result()
            for await r in group {
                merged.latencies.append(contentsOf: r.latencies)
                merged.errors += r.errors
                merged.retried += r.retried
                if merged.firstError == nil { merged.firstError = r.firstError }
            }
            return merged
        }
        let elapsed = (clock.now - start).seconds
        let sorted = all.latencies.sorted()
        func percentile(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[Int((q * Double(sorted.count - 1)).rounded())] }
        var report: [String: Any] = [
            "mode": "learn", "learn_rpc": rpc, "process_predictions": predictions, "writers": writers, "connections": connections, "node": node,
            "learns": sorted.count, "errors": all.errors, "retried": all.retried, "seconds": elapsed,
            "learns_per_s": Double(sorted.count) / elapsed,
            "learn_p50_ms": percentile(0.5) / 1000, "learn_p99_ms": percentile(0.99) / 1000,
        ]
        if let e = all.firstError { report["first_error"] = e }
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        for g in await pool.all() { await g.close() }
        if all.errors > 0 { throw ExitCodeError() }
    }

    struct ValidationFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    struct ExitCodeError: Error {}

    /// The connections, each replaced by a new one when a call on it fails with UNAVAILABLE
    /// (`--reconnect`): what a client does after a server's GOAWAY.
    actor Reconnecting {
        private var clients: [GRPCClient]
        let host: String
        let port: Int
        init(_ clients: [GRPCClient], host: String, port: Int) {
            self.clients = clients
            self.host = host
            self.port = port
        }

        func client(_ i: Int) -> GRPCClient { clients[i] }
        func all() -> [GRPCClient] { clients }

        func replace(_ i: Int, failed: GRPCClient) async {
            guard clients[i] === failed else { return }  // another writer replaced it already
            let fresh = GRPCClient(configuration: GRPCClient.Configuration(host: host, port: port))
            do {
                try await fresh.connect()
            } catch {
                return
            }
            if clients[i] === failed {
                clients[i] = fresh
                Task { await failed.close() }
            } else {
                await fresh.close()
            }
        }
    }

    /// A small deterministic generator per writer (no shared state between tasks).
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }
}
