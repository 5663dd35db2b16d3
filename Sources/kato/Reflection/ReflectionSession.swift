import GRPCH2

/// A connection plus the descriptor source of the grpcurl-style commands.
final class ReflectionSession {
    let grpc: GRPCClient
    let metadata: Metadata
    let deadline: ContinuousClock.Instant?
    let source: DescriptorSource
    private let reflection: ReflectionClient

    init(grpc: GRPCClient, metadata: Metadata, deadline: ContinuousClock.Instant?) {
        self.grpc = grpc
        self.metadata = metadata
        self.deadline = deadline
        reflection = ReflectionClient(grpc: grpc, metadata: metadata, deadline: deadline)
        source = DescriptorSource(reflection: reflection)
    }

    static func open(_ options: ConnectionOptions) async throws -> ReflectionSession {
        let deadline = options.deadline()
        let metadata = try options.metadata
        let grpc = try await options.connect(deadline: deadline)
        return ReflectionSession(grpc: grpc, metadata: metadata, deadline: deadline)
    }

    /// Opens a session, runs `body`, and closes the session whatever happens.
    static func with<T>(_ options: ConnectionOptions, _ body: (ReflectionSession) async throws -> T) async throws -> T {
        let session = try await open(options)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    func close() async {
        reflection.close()
        await grpc.close()
    }

    /// Runs a reflection step; reflection failures end the command with exit code 1, as in grpcurl.
    func reflect<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            if error.code == .unimplemented {
                throw CLIFailure.failure("\(what): server does not support the reflection API")
            }
            throw CLIFailure.failure("\(what): rpc error: code = \(RPCFailure.goName(error.code)) desc = \(error.message)")
        } catch let error as SymbolNotFound {
            throw CLIFailure.failure("\(what): \(error)")
        } catch let error as ReflectionError {
            throw CLIFailure.failure("\(what): \(error.message)")
        }
    }
}
