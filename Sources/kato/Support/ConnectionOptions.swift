import ArgumentParser
import Foundation
import GRPCH2
import NIOCore
import ProtoJSON
import ProtoWire
import StrictJSON
import Synchronization

/// Where and how every subcommand connects: `--server HOST:PORT` (env `KATO_SERVER`),
/// plaintext (the default for loopback) or TLS, `-H` metadata and `--max-time`.
struct ConnectionOptions: ParsableArguments {
    static let defaultServer = "127.0.0.1:50051"

    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("The server, HOST:PORT (default \(Self.defaultServer), or env KATO_SERVER).", valueName: "host:port"))
    var server: String?

    @Flag(help: "Use plaintext HTTP/2 (h2c), no TLS (the default for loopback addresses).")
    var plaintext = false

    @Flag(help: "Use TLS even for a loopback address.")
    var tls = false

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust (implies TLS).", valueName: "file"))
    var cacert: String?

    @Option(help: ArgumentHelp("PEM client certificate for mutual TLS (implies TLS).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("PEM private key of --cert (implies TLS).", valueName: "file"))
    var key: String?

    @Flag(help: "Skip verification of the server's certificate (implies TLS; testing only).")
    var insecure = false

    @Option(name: .customLong("servername"), help: ArgumentHelp("Server name for TLS verification and SNI.", valueName: "name"))
    var serverName: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: ArgumentHelp("Request metadata 'name: value' (repeatable; -bin values are base64).", valueName: "name: value"))
    var headers: [String] = []

    @Option(name: .customLong("api-key"), help: ArgumentHelp("Sent as 'authorization: Bearer KEY' (default: env KATO_API_KEY).", valueName: "key"))
    var apiKey: String?

    @Option(name: .customLong("max-time"), help: ArgumentHelp("Overall time limit in seconds, sent as the call's deadline.", valueName: "seconds"))
    var maxTime: Double?

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Time limit for connecting, in seconds.", valueName: "seconds"))
    var connectTimeout: Double = 10

    func validate() throws {
        if plaintext && (tls || cacert != nil || cert != nil || key != nil || insecure) {
            throw ValidationError("--plaintext cannot be combined with TLS options")
        }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if let maxTime, !(maxTime > 0) { throw ValidationError("--max-time must be positive") }
        for h in headers where !h.contains(":") { throw ValidationError("-H expects 'name: value', got '\(h)'") }
    }

    /// The address from --server, KATO_SERVER, or the default.
    var address: String {
        server ?? ProcessInfo.processInfo.environment["KATO_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultServer
    }

    /// HOST:PORT, [IPv6]:PORT or HOST (port 50051).
    static func split(_ address: String) throws(CLIFailure) -> (host: String, port: Int) {
        var host = address, port = 50051
        guard !address.contains(where: \.isWhitespace) else { throw .usage("invalid server address '\(address)'") }
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { throw .usage("invalid server address '\(address)'") }
            host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()) else { throw .usage("invalid port in '\(address)'") }
                port = p
            }
        } else if let colon = address.lastIndex(of: ":"), address.firstIndex(of: ":") == colon {
            host = String(address[..<colon])
            guard let p = Int(address[address.index(after: colon)...]) else { throw .usage("invalid port in '\(address)'") }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw .usage("invalid server address '\(address)'") }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    var metadata: Metadata {
        get throws {
            var m = Metadata()
            for h in headers {
                let colon = h.firstIndex(of: ":")!
                let name = h[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name.hasSuffix("-bin") {
                    m.addBinary((try? ScalarFormats.bytes(.string(value))) ?? Array(value.utf8), forKey: name)
                } else {
                    m.addString(value, forKey: name)
                }
            }
            if let key = apiKey ?? ProcessInfo.processInfo.environment["KATO_API_KEY"], !key.isEmpty {
                m.addString("Bearer \(key)", forKey: "authorization")
            }
            return m
        }
    }

    /// The instant --max-time ends, counted from now.
    func deadline() -> ContinuousClock.Instant? {
        maxTime.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
    }

    /// Connects (TCP, TLS, HTTP/2 preface) within --connect-timeout and the deadline.
    func connect(deadline: ContinuousClock.Instant?, defaultMetadata: Metadata = Metadata()) async throws -> GRPCClient {
        let address = self.address
        let (host, port) = try Self.split(address)
        var configuration = GRPCClient.Configuration(host: host, port: port)
        configuration.defaultMetadata = defaultMetadata
        let wantsTLS = tls || cacert != nil || cert != nil || insecure
        if !plaintext && (wantsTLS || !Self.isLoopback(host)) {
            configuration.tls = .init(caPath: cacert, certificatePath: cert, keyPath: key, insecure: insecure, serverName: serverName)
        }
        let client = GRPCClient(configuration: configuration)
        var limit = Duration.milliseconds(Int64(connectTimeout * 1000))
        if let deadline { limit = min(limit, deadline - .now) }
        // On timeout, closing the client shuts its event loop down, which fails the pending connect.
        let timedOut = AtomicFlag()
        let timer = Task { [limit] in
            try await Task.sleep(for: limit)
            timedOut.set()
            await client.close()
        }
        defer { timer.cancel() }
        do {
            try await client.connect()
        } catch {
            await client.close()
            let reason = timedOut.isSet ? "context deadline exceeded" : Self.describe(error)
            throw CLIFailure.failure("Failed to dial target host \"\(address)\": \(reason)")
        }
        return client
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return e.description }
        return String(describing: error)
    }
}

/// A flag set once from any task.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
