// The server-streaming reference: `streams` Echo/ServerStream calls over `connections`
// connections, each asking for `count` responses of `payload` bytes, all at once; delivered
// messages per second at this client. Run against the C++ gRPC echo server (and ours) in the
// same run as the fan-out measurement, with the same client and event loops.
import ArgumentParser
import EchoProto
import Foundation
import GRPCH2
import NIOPosix
import Synchronization

struct StreamReference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stream")
    @OptionGroup var server: ServerOptions
    @Option var streams = 10_000
    @Option var connections = 100
    @Option(help: "Responses per stream.") var count = 20
    @Option(help: "Payload bytes per response (about a PredictionUpdate's size).") var payload = 1000
    @Option(help: "counting (raw HTTP/2, CountingConnection.swift), lean (GRPCClient on the connection's loop, LeanReceive.swift) or full (GRPCClient, global executor): as `fanout`.")
    var receive: ReceiveMode = .counting

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let executors = loops.map(LoopExecutor.init)
        let lean = receive == .lean
        var request = Grpch2_Test_EchoRequest()
        request.count = Int32(count)
        request.payload = [UInt8](repeating: 0x78, count: payload)
        let clock = ContinuousClock()
        let cpu0 = server.cpuSeconds, clientCPU0 = processCPUSeconds(0)
        let rss0 = server.rssKiB
        let start = clock.now
        if receive == .counting {
            let delivered = Atomic<Int>(0)
            let counting = try await CountingSubscribers.start(
                server, loops: loops, connections: connections, path: Grpch2_Test_Echo.serverStream.path,
                requests: Array(repeating: request.serializedBytes(), count: streams), mode: .messages,
                progress: { _, n in delivered.add(n, ordering: .relaxed) })
            // Until every message arrived, or none for 5 s.
            var last = -1, quietSince = clock.now, end = clock.now
            while delivered.load(ordering: .relaxed) < streams * count, clock.now - quietSince < .seconds(5) {
                let now = delivered.load(ordering: .relaxed)
                if now != last { last = now; quietSince = clock.now; end = clock.now }
                try await Task.sleep(for: .milliseconds(2))
            }
            if delivered.load(ordering: .relaxed) == streams * count { end = clock.now }
            let cpu = server.cpuSeconds - cpu0, clientCPU = processCPUSeconds(0) - clientCPU0
            try await Task.sleep(for: .milliseconds(200))  // the trailers
            let calls = try await counting.results()
            await counting.close()
            let received = calls.reduce(0) { $0 + $1.messages }
            let errors = calls.filter { !$0.ended || $0.reset || $0.messages != count }.count
            if errors > 0 {
                let reset = calls.filter(\.reset).count, open = calls.filter { !$0.ended }.count
                let none = calls.filter { $0.messages == 0 }.count
                FileHandle.standardError.write(Data("\(errors) calls failed: \(reset) reset (codes \(Set(calls.filter(\.reset).map(\.resetCode)).sorted())), \(open) never ended, \(none) without a message\n".utf8))
            }
            try report(received: received, errors: errors, elapsed: (end - start).seconds, cpu: cpu, clientCPU: clientCPU, rss0: rss0)
            try await group.shutdownGracefully()
            if errors > 0 || received != streams * count { throw ExitCode(1) }
            return
        }
        let clients = try await server.connect(connections, loops: loops)
        let (received, errors) = await withTaskGroup(of: (Int, Int).self) { tasks in
            for k in 0..<streams {
                let request = request
                let c = k % clients.count
                tasks.addTask(executorPreference: lean ? executors[c % executors.count] : nil) {
                    var n = 0
                    do {
                        for try await _ in try await clients[c].serverStreaming(Grpch2_Test_Echo.serverStream, request) { n += 1 }
                    } catch {
                        return (n, 1)
                    }
                    return (n, 0)
                }
            }
            var total = 0, errors = 0
            for await (n, e) in tasks { total += n; errors += e }
            return (total, errors)
        }
        let elapsed = (clock.now - start).seconds
        try report(received: received, errors: errors, elapsed: elapsed, cpu: server.cpuSeconds - cpu0,
                   clientCPU: processCPUSeconds(0) - clientCPU0, rss0: rss0)
        for client in clients { await client.close() }
        try await group.shutdownGracefully()
        if errors > 0 || received != streams * count { throw ExitCode(1) }
    }

    func report(received: Int, errors: Int, elapsed: Double, cpu: Double, clientCPU: Double, rss0: Int) throws {
        try printJSON([
            "streams": streams, "connections": connections, "count": count, "payload": payload, "receive": receive.rawValue,
            "messages": received, "errors": errors, "messages_per_s": Double(received) / elapsed, "seconds": elapsed,
            "server_cpu_us_per_message": cpu / Double(max(1, received)) * 1e6,
            "client_cpu_us_per_message": clientCPU / Double(max(1, received)) * 1e6,
            "rss_kib_before": rss0,
        ])
    }
}
