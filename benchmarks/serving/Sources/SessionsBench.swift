// Sessions at scale: creates sessions up to each checkpoint (100k, 1M), reading the server's RSS
// there, then observes a random sample of all live sessions once each.
import ArgumentParser
import Foundation
import GRPCH2
import KatoProto
import NIOPosix
import KatoSupport

struct SessionsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions")
    @OptionGroup var server: ServerOptions
    @Option(help: "Comma-separated session counts at which to measure.") var checkpoints = "100000,1000000"
    @Option(help: "Observe calls at each checkpoint (random live sessions).") var observes = 100_000
    @Option var connections = 4
    @Option(help: "Calls in flight.") var concurrency = 256
    @Option var node = "sessions-bench"

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let clients = try await server.connect(connections, group: group)
        let targets = checkpoints.split(separator: ",").compactMap { Int($0) }
        let clock = ContinuousClock()
        let rss0 = server.rssKiB
        var ids: [String] = []
        var rows: [[String: Any]] = []
        for target in targets where target > ids.count {
            // 1. Create up to `target`.
            let from = ids.count, count = target - from, workers = concurrency, node = self.node
            let cpu0 = server.cpuSeconds
            let t0 = clock.now
            let created = try await withThrowingTaskGroup(of: [String].self) { tasks in
                for w in 0..<workers {
                    tasks.addTask {
                        var mine: [String] = []
                        mine.reserveCapacity(count / workers + 1)
                        var request = Kato_V2_CreateSessionRequest()
                        request.nodeID = node
                        for i in stride(from: w, to: count, by: workers) {
                            let client = clients[i % clients.count]
                            mine.append(try await client.unary(Kato_V2_SessionService.createSession, request, timeout: .seconds(60)).sessionID)
                        }
                        return mine
                    }
                }
                var all: [String] = []
                all.reserveCapacity(count)
                for try await batch in tasks { all.append(contentsOf: batch) }
                return all
            }
            let createSeconds = (clock.now - t0).seconds
            let createCPU = server.cpuSeconds - cpu0
            ids.append(contentsOf: created)
            let rssCreated = server.rssKiB

            // 2. Observe random live sessions (each once at most per checkpoint).
            let all = ids, n = min(observes, ids.count)
            let cpu1 = server.cpuSeconds
            let t1 = clock.now
            let (latencies, errors) = await withTaskGroup(of: ([Double], Int).self) { tasks in
                for w in 0..<workers {
                    tasks.addTask {
                        var rng = SplitMix64(seed: UInt64(w + 1) &* 7919 &+ UInt64(all.count))
                        var latencies: [Double] = []
                        var errors = 0
                        var request = Kato_V2_ObserveRequest()
                        for i in stride(from: w, to: n, by: workers) {
                            request.sessionID = all[Int(rng.next() % UInt64(all.count))]
                            request.strings = ["s\(i % 1000)"]
                            let s = clock.now
                            do {
                                _ = try await clients[i % clients.count].unary(Kato_V2_ObserveService.observe, request, timeout: .seconds(60))
                                latencies.append((clock.now - s).seconds * 1e6)
                            } catch {
                                errors += 1
                            }
                        }
                        return (latencies, errors)
                    }
                }
                var all: [Double] = []
                var errors = 0
                for await (l, e) in tasks { all += l; errors += e }
                return (all.sorted(), errors)
            }
            let observeSeconds = (clock.now - t1).seconds
            let observeCPU = server.cpuSeconds - cpu1
            let rssObserved = server.rssKiB
            rows.append([
                "sessions": ids.count, "created": count, "create_per_s": Double(count) / createSeconds,
                "create_server_cpu_us": createCPU / Double(count) * 1e6,
                "rss_kib_after_create": rssCreated, "rss_kib_after_observe": rssObserved,
                "bytes_per_session": Double(rssCreated - rss0) * 1024 / Double(ids.count),
                "observes": latencies.count, "observe_errors": errors, "observe_per_s": Double(latencies.count) / observeSeconds,
                "observe_server_cpu_us": observeCPU / Double(max(1, latencies.count)) * 1e6,
                "observe_p50_us": percentile(latencies, 0.5), "observe_p99_us": percentile(latencies, 0.99),
            ])
            try printJSON(rows.last!)
            if errors > 0 { throw ExitCode(1) }
        }
        try printJSON(["rss_kib_start": rss0, "connections": connections, "concurrency": concurrency, "checkpoints": rows])
        for client in clients { await client.close() }
        try await group.shutdownGracefully()
    }
}
