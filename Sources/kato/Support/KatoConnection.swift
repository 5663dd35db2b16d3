import ArgumentParser
import Foundation
import GRPCH2
import KatoClient

/// Which session a domain verb works on: `--session ID` (env KATO_SESSION), or the default
/// session of `--node N`.
struct SessionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The session id (default: env KATO_SESSION).", valueName: "id"))
    var session: String?

    @Option(help: ArgumentHelp("Use this node's default session instead of --session.", valueName: "node"))
    var node: String?

    func resolve(_ client: KatoClient) throws -> KatoSession {
        if let session, !session.isEmpty { return client.session(id: session, nodeID: node ?? "") }
        if let env = ProcessInfo.processInfo.environment["KATO_SESSION"], !env.isEmpty, node == nil {
            return client.session(id: env)
        }
        if let node { return client.defaultSession(nodeID: node) }
        throw CLIFailure.usage("give --session ID (or env KATO_SESSION), or --node N for the node's default session")
    }
}

extension ConnectionOptions {
    /// Connects a `KatoClient` (with -H metadata and --max-time as every call's timeout), runs
    /// `body`, and closes the connection.
    func withKatoClient<T>(_ body: (KatoClient) async throws -> T) async throws -> T {
        let deadline = self.deadline()
        let grpc = try await connect(deadline: deadline, defaultMetadata: try metadata)
        let client = KatoClient(grpc: grpc, defaultTimeout: deadline.map { $0 - .now })
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}
