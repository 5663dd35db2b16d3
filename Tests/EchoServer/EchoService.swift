import EchoProto
import GRPCH2
import Synchronization

/// `grpch2.test.Echo`: echoes messages and metadata, and misbehaves on request
/// (`delay_ms`, `fail_code`) so tests can drive deadlines, cancellation and errors.
/// The message `__stats__` answers with how many handlers completed and were cancelled, and how
/// many are in their `delay_ms` now (tests wait for that to act on a call known to be in flight);
/// `__metadata__` with the request metadata keys the handler saw; `__reserved__` makes the
/// handler send reserved headers (`:status`, `grpc-status`, ...) as metadata.
final class EchoService: ServiceProvider {
    let serviceName = Grpch2_Test_Echo.serviceName
    private let stats = Mutex((completed: 0, cancelled: 0, delaying: 0))

    var methods: [ServerMethod] {
        [
            .unary(Grpch2_Test_Echo.unary) { [self] request, context in
                try await self.tracked { try await self.respond(to: request, index: 0, context: context) }
            },
            .serverStreaming(Grpch2_Test_Echo.serverStream) { [self] request, writer, context in
                try await self.tracked {
                    for i in 0..<max(1, Int(request.count)) {
                        try await writer.write(try await self.respond(to: request, index: i, context: context))
                    }
                }
            },
            .clientStreaming(Grpch2_Test_Echo.clientStream) { [self] requests, context in
                try await self.tracked {
                    var response = Grpch2_Test_EchoResponse()
                    var parts: [String] = []
                    for try await request in requests {
                        parts.append(request.message)
                        response.payload += request.payload
                    }
                    response.message = parts.joined(separator: ",")
                    response.index = Int32(parts.count)
                    self.echoMetadata(context)
                    return response
                }
            },
            .bidirectionalStreaming(Grpch2_Test_Echo.bidiStream) { [self] requests, writer, context in
                try await self.tracked {
                    var i = 0
                    for try await request in requests {
                        try await writer.write(try await self.respond(to: request, index: i, context: context))
                        i += 1
                    }
                }
            },
        ]
    }

    private func respond(to request: Grpch2_Test_EchoRequest, index: Int, context: ServerContext) async throws -> Grpch2_Test_EchoResponse {
        if request.delayMs > 0 { try await delay(milliseconds: Int(request.delayMs)) }
        if request.failCode != 0 {
            throw RPCError(code: StatusCode(rawValue: Int(request.failCode)), message: request.failMessage)
        }
        if index == 0 { echoMetadata(context) }
        var response = Grpch2_Test_EchoResponse()
        response.message = request.message
        response.payload = request.payload
        response.index = Int32(index)
        if request.message == "__metadata__" {
            // The metadata keys the handler sees, in order (reserved-header tests).
            response.message = context.requestMetadata.map(\.key).joined(separator: ",")
        }
        if request.message == "__reserved__" {
            // A handler that tries to send reserved headers: the runtime must drop them.
            var reserved = Metadata()
            for key in [":status", "grpc-status", "grpc-message", "grpc-custom", "content-type", "connection", "te"] {
                reserved.addString("forged", forKey: key)
            }
            reserved.addString("kept", forKey: "x-allowed")
            reserved.addString("250", forKey: "grpc-retry-pushback-ms")
            context.addInitialMetadata(reserved)
            context.addTrailingMetadata(reserved)
        }
        if request.message == "__stats__" {
            let s = stats.withLock { $0 }
            response.message = "completed=\(s.completed) cancelled=\(s.cancelled) delaying=\(s.delaying)"
        }
        return response
    }

    /// Sleeps, counted in `delaying` meanwhile (the `/slow/` GET route too).
    func delay(milliseconds: Int) async throws {
        stats.withLock { $0.delaying += 1 }
        defer { stats.withLock { $0.delaying -= 1 } }
        try await Task.sleep(for: .milliseconds(milliseconds))
    }

    /// Request metadata whose key starts with `echo-` comes back as initial metadata, and
    /// again as trailing metadata under `trailer-<key>`.
    private func echoMetadata(_ context: ServerContext) {
        var initial = Metadata(), trailing = Metadata()
        for entry in context.requestMetadata where entry.key.hasPrefix("echo-") {
            switch entry.value {
            case .string(let s):
                initial.addString(s, forKey: entry.key)
                trailing.addString(s, forKey: "trailer-" + entry.key)
            case .binary(let b):
                initial.addBinary(b, forKey: entry.key)
                trailing.addBinary(b, forKey: "trailer-" + entry.key)
            }
        }
        context.addInitialMetadata(initial)
        context.addTrailingMetadata(trailing)
    }

    private func tracked<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            stats.withLock { $0.completed += 1 }
            return result
        } catch {
            if Task.isCancelled || error is CancellationError { stats.withLock { $0.cancelled += 1 } }
            throw error
        }
    }
}
