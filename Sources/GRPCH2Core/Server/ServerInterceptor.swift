/// Runs around every call (unary and streaming), outermost first.
///
/// An interceptor can reject a call by throwing (an `RPCErrorConvertible` error becomes its
/// status), read request metadata, attach attributes or response metadata for the handler,
/// and observe the outcome: `next` returns when the handler succeeded and throws its error
/// otherwise.
public protocol ServerInterceptor: Sendable {
    func intercept(
        _ context: ServerContext,
        next: @Sendable (ServerContext) async throws -> Void
    ) async throws
}

extension Array where Element == any ServerInterceptor {
    /// Runs `body` inside every interceptor of the chain, the first one outermost.
    package func run(_ context: ServerContext, _ body: @escaping @Sendable (ServerContext) async throws -> Void) async throws {
        try await run(index: startIndex, context, body)
    }

    private func run(index: Int, _ context: ServerContext, _ body: @escaping @Sendable (ServerContext) async throws -> Void) async throws {
        if index == endIndex { return try await body(context) }
        let interceptor = self[index]
        try await interceptor.intercept(context) { ctx in try await self.run(index: index + 1, ctx, body) }
    }
}
