// kato-serving-bench: the serving targets of issue 15 against a running server
// (benchmarks/serving/run.sh runs all of them; docs/BENCHMARKS.md "Serving").
//
//   kato-serving-bench sessions --port P --server-pid PID --checkpoints 100000,1000000
//   kato-serving-bench fanout   --port P --server-pid PID --sessions 1000 --subscribers 10
//   kato-serving-bench stream   --port P --server-pid PID --streams 10000 --count 20
// Each prints one JSON line; exits 1 on any error.
import ArgumentParser
import Foundation
import GRPCH2
import NIOCore
import NIOPosix

@main
struct ServingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kato-serving-bench",
        subcommands: [SessionsBench.self, FanOutBench.self, StreamReference.self])
}

/// What every mode shares: the server, its process (for RSS and CPU), the client connections.
struct ServerOptions: ParsableArguments {
    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "The server's pid: RSS and CPU are read from /proc.") var serverPID: Int32

    /// `count` connections on one shared 2-thread event loop group (a group per client would
    /// mean a thread per connection).
    func connect(_ count: Int, group: MultiThreadedEventLoopGroup) async throws -> [GRPCClient] {
        var clients: [GRPCClient] = []
        for _ in 0..<count {
            let client = GRPCClient(configuration: .init(host: host, port: port), group: group)
            try await client.connect()
            clients.append(client)
        }
        return clients
    }

    /// `count` connections alternating over `loops` (connection i on loop i % loops.count).
    func connect(_ count: Int, loops: [any EventLoop]) async throws -> [GRPCClient] {
        var clients: [GRPCClient] = []
        for i in 0..<count {
            let client = GRPCClient(configuration: .init(host: host, port: port), group: loops[i % loops.count])
            try await client.connect()
            clients.append(client)
        }
        return clients
    }

    /// VmRSS of the server, KiB.
    var rssKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(serverPID)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    /// utime + stime of the server, seconds.
    var cpuSeconds: Double { processCPUSeconds(serverPID) }
}

/// utime + stime of process `pid` (0: this one), seconds.
func processCPUSeconds(_ pid: Int32) -> Double {
    let stat = (try? String(contentsOfFile: pid == 0 ? "/proc/self/stat" : "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    guard fields.count > 13 else { return -1 }
    return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func printJSON(_ report: [String: Any]) throws {
    let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}

/// The q-quantile of sorted values (nearest rank).
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[Int((q * Double(sorted.count - 1)).rounded())]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

