import ProtobufCBridge

/// Typed handlers: messages decoded before the handler runs, encoded after.
/// A request that does not decode ends the call with INTERNAL, as gRPC specifies.
extension ServerMethod {
    @usableFromInline
    static func decoder<M: ProtoMessage>(_: M.Type) -> @Sendable ([UInt8]) throws -> M {
        { bytes in
            do {
                return try M(serializedBytes: bytes)
            } catch {
                throw RPCError(code: .internalError, message: "cannot decode request: \(error)")
            }
        }
    }

    /// A request message decoded as typed methods decode theirs (INTERNAL when it does not), for
    /// an untyped method that reads its request itself.
    public static func decodeRequest<M: ProtoMessage>(_ bytes: [UInt8], as type: M.Type) throws -> M {
        try decoder(type)(bytes)
    }

    /// `@inlinable`: specialized in the module that registers the method, the task's closure
    /// has fixed-size frames and no generic metadata lookups or value witnesses per call.
    @inlinable
    public static func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        unary(descriptor, interceptedBy: NoInterceptor.self, handler: handler)
    }

    /// A unary method that expects the router's chain to be one interceptor of type
    /// `Interceptor` (a `ComposedInterceptor` for several): that chain, bound to the method
    /// when the router composes it, is then specialized for this method's messages and inlined
    /// around `handler` (as if written into it). Any other chain still works, through the
    /// protocol, one call per interceptor.
    @inlinable
    public static func unary<Request: ProtoMessage, Response: ProtoMessage, Interceptor: ServerInterceptor>(
        _ descriptor: MethodDescriptor<Request, Response>, interceptedBy: Interceptor.Type,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        typedUnary(
            path: descriptor.path, decode: decoder(Request.self), handler: handler, base: handler, interceptedBy: Interceptor.self,
            chain: { InterceptorChain.unary($0, $1) })
    }

    /// The same, for a chain whose bound form is one `StagedInterceptor` (a `ComposedStages`
    /// nest): its steps are written into the method's handler closure around the one `await`
    /// of `handler`, with no async frame of their own (`InterceptorChain.staged`).
    @inlinable
    public static func unary<Request: ProtoMessage, Response: ProtoMessage, Interceptor: ServerInterceptor>(
        _ descriptor: MethodDescriptor<Request, Response>, interceptedBy: Interceptor.Type,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod where Interceptor.Bound: StagedInterceptor {
        typedUnary(
            path: descriptor.path, decode: decoder(Request.self), handler: handler, base: handler, interceptedBy: Interceptor.self,
            chain: { InterceptorChain.staged($0, $1) })
    }

    /// A unary method running `handler`, which is `base` with interceptors around it (or `base`).
    @inlinable
    static func typedUnary<Request: ProtoMessage, Response: ProtoMessage, Interceptor: ServerInterceptor>(
        path: String, decode: @escaping @Sendable ([UInt8]) throws -> Request,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response,
        base: @escaping @Sendable (Request, ServerContext) async throws -> Response,
        interceptedBy: Interceptor.Type,
        chain compose: @escaping @Sendable (
            Interceptor.Bound, @escaping @Sendable (Request, ServerContext) async throws -> Response
        ) -> @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        // The body is written out in both task closures: through a shared async function it
        // would be one more frame and executor check per call.
        let start: @Sendable ([UInt8], ServerContext, StreamHandle, (any TaskExecutor)?) -> Task<Void, Never> = {
            bytes, context, handle, executor in
            if let executor {
                // The task would be queued onto this very loop anyway: start it here and save
                // the hop. It runs on this thread until it first suspends, and resumes through
                // the loop's executor.
                return Task.immediate(executorPreference: executor) {
                    do {
                        let response = try await handler(try decode(bytes), context)
                        handle.complete(framedMessage: response.serializedBytes(headroom: MessageFramer.prefixLength))
                    } catch {
                        handle.complete(messages: [], error: RPCError(mapping: error, in: context), context: context)
                    }
                }
            }
            return Task {
                do {
                    let response = try await handler(try decode(bytes), context)
                    handle.complete(framedMessage: response.serializedBytes(headroom: MessageFramer.prefixLength))
                } catch {
                    handle.complete(messages: [], error: RPCError(mapping: error, in: context), context: context)
                }
            }
        }
        return ServerMethod(
            path: path, startUnary: start,
            handler: { requests, writer, context in
                var iterator = requests.makeAsyncIterator()
                guard let bytes = try await iterator.next() else {
                    throw RPCError(code: .internalError, message: "no request message")
                }
                let response = try await handler(decode(bytes), context)
                try await writer.write(response.serializedBytes())
            },
            withInterceptors: { chain in
                // Bound here rather than by the router: the expected chain type binds to its
                // concrete bound type, which the specialized chain needs.
                let info = Info(path: path, kind: .unary)
                var handler = base
                if chain.count == 1, let interceptor = chain[0] as? Interceptor {
                    if let bound = interceptor.bound(to: info) { handler = compose(bound, base) }
                } else {
                    let bound = chain.compactMap { $0.bound(to: info) }
                    if !bound.isEmpty { handler = InterceptorChain.unary(bound, base) }
                }
                return typedUnary(
                    path: path, decode: decode, handler: handler, base: base, interceptedBy: Interceptor.self, chain: compose)
            })
    }

    public static func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        let path = descriptor.path
        let decode = decoder(Request.self)
        return ServerMethod(path: path, kind: .serverStreaming) { requests, writer, context in
            var iterator = requests.makeAsyncIterator()
            guard let bytes = try await iterator.next() else {
                throw RPCError(code: .internalError, message: "no request message")
            }
            try await handler(decode(bytes), writer.map { (r: Response) in r.serializedBytes() }, context)
        }
    }

    public static func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) -> ServerMethod {
        let path = descriptor.path
        let decode = decoder(Request.self)
        return ServerMethod(path: path, kind: .clientStreaming) { requests, writer, context in
            let response = try await handler(requests.map(decode), context)
            try await writer.write(response.serializedBytes())
        }
    }

    public static func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        let path = descriptor.path
        let decode = decoder(Request.self)
        return ServerMethod(path: path, kind: .bidirectionalStreaming) { requests, writer, context in
            try await handler(requests.map(decode), writer.map { (r: Response) in r.serializedBytes() }, context)
        }
    }
}
