// The server-streaming reference: `streams` Echo/ServerStream calls over `connections`
// connections, each asking for `count` responses of `payload` bytes, all at once; delivered
// messages per second at this client. Run against the C++ gRPC echo server (and ours) in the
// same run as the fan-out measurement, with the same client and event loops.
import ArgumentParser
import EchoProto
import Foundation
import GRPCH2
import NIOPosix

struct StreamReference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stream")
    @OptionGroup var server: ServerOptions
    @Option var streams = 10_000
    @Option var connections = 100
    @Option(help: "Responses per stream.") var count = 20
    @Option(help: "Payload bytes per response (about a PredictionUpdate's size).") var payload = 1000
    @Option(help: "Streams read on their connection's event loop (LeanReceive.swift), as `fanout` does.") var leanReceive = true

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let executors = loops.map(LoopExecutor.init)
        let clients = try await server.connect(connections, loops: loops)
        let lean = leanReceive
        var request = Grpch2_Test_EchoRequest()
        request.count = Int32(count)
        request.payload = [UInt8](repeating: 0x78, count: payload)
        let clock = ContinuousClock()
        let cpu0 = server.cpuSeconds, clientCPU0 = processCPUSeconds(0)
        let rss0 = server.rssKiB
        let start = clock.now
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
        try printJSON([
            "streams": streams, "connections": connections, "count": count, "payload": payload, "lean_receive": lean,
            "messages": received, "errors": errors, "messages_per_s": Double(received) / elapsed, "seconds": elapsed,
            "server_cpu_us_per_message": (server.cpuSeconds - cpu0) / Double(max(1, received)) * 1e6,
            "client_cpu_us_per_message": (processCPUSeconds(0) - clientCPU0) / Double(max(1, received)) * 1e6,
            "rss_kib_before": rss0,
        ])
        for client in clients { await client.close() }
        try await group.shutdownGracefully()
        if errors > 0 || received != streams * count { throw ExitCode(1) }
    }
}
