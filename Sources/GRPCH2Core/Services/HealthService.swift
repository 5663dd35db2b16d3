import ProtobufCBridge
import Synchronization

/// `grpc.health.v1.Health`: per-service serving status that the server changes at run time.
/// The empty service name stands for the whole server.
public final class HealthService: ServiceProvider {
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var serviceName: String { "grpc.health.v1.Health" }

    /// Sets a service's status; every Watch of it gets the new value.
    public func setStatus(_ status: Status, forService service: String) {
        let watchers = state.withLock { s -> [AsyncStream<Status>.Continuation] in
            s.statuses[service] = status
            return s.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for w in watchers { w.yield(status) }
    }

    /// The current status, nil for a service never registered.
    public func status(forService service: String) -> Status? {
        state.withLock { $0.statuses[service] }
    }

    /// Ends every Watch (graceful shutdown): status NOT_SERVING first, as grpc-go does.
    public func enterShutdown() {
        let services = state.withLock { Array($0.statuses.keys) }
        for s in services { setStatus(.notServing, forService: s) }
    }

    public var methods: [ServerMethod] {
        [
            .unary(Grpc_Health_V1_Health.check) { [self] request, _ in
                guard let status = status(forService: request.service) else {
                    throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
                }
                var response = Grpc_Health_V1_HealthCheckResponse()
                response.status = status
                return response
            },
            .serverStreaming(Grpc_Health_V1_Health.watch) { [self] request, writer, _ in
                let (updates, continuation) = AsyncStream<Status>.makeStream(bufferingPolicy: .bufferingNewest(1))
                let id = state.withLock { s in
                    defer { s.nextWatcher += 1 }
                    s.watchers[s.nextWatcher] = (request.service, continuation)
                    continuation.yield(s.statuses[request.service] ?? .serviceUnknown)
                    return s.nextWatcher
                }
                defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
                var last: Status?
                for await status in updates {
                    if Task.isCancelled { break }
                    guard status != last else { continue }
                    last = status
                    var response = Grpc_Health_V1_HealthCheckResponse()
                    response.status = status
                    try await writer.write(response)
                }
            },
        ]
    }
}
