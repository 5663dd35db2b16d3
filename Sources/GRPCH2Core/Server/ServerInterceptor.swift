import ProtobufCBridge

/// Runs around calls (unary and streaming), outermost first: the one interceptor mechanism.
///
/// An interceptor can reject a call by throwing (an `RPCErrorConvertible` error becomes its
/// status), read request metadata, attach attributes or response metadata for the handler,
/// install a `MessageObserver`, and observe the outcome: `next` returns the handler's result
/// and throws its error.
///
/// It is generic over the call's request and response: for a typed unary method they are the
/// decoded request and the response message (the router composes the chain into the method's
/// direct unary path once, when the method is registered, so a call pays one call per
/// interceptor and no request stream or writer); for every other method they are
/// `StreamingCall` and `Void`. Most interceptors pass both through untouched.
///
/// `bound(to:)` is asked once per method when the router is built: an interceptor works out
/// there what it needs to know of the method (instead of on every call) and returns a copy
/// holding it, `self`, or nil to stay out of that method's calls altogether.
public protocol ServerInterceptor: Sendable {
    func bound(to method: ServerMethod.Info) -> (any ServerInterceptor)?

    func intercept<Request: Sendable, Response: Sendable>(
        request: Request, context: ServerContext,
        next: (Request, ServerContext) async throws -> Response
    ) async throws -> Response
}

extension ServerInterceptor {
    public func bound(to method: ServerMethod.Info) -> (any ServerInterceptor)? { self }
}

extension ServerMethod {
    /// What an interceptor may know of a method before any call: its path and kind.
    public struct Info: Sendable, Hashable {
        /// The full method path, e.g. `/kato.v2.ObserveService/Observe`.
        public let path: String
        public let kind: CallKind

        public init(path: String, kind: CallKind) {
            self.path = path
            self.kind = kind
        }

        /// The service part of the path (`kato.v2.ObserveService`).
        public var serviceName: Substring { path.dropFirst().split(separator: "/", maxSplits: 1).first ?? "" }
        /// The method part of the path (`Observe`).
        public var methodName: Substring { path.split(separator: "/").last ?? "" }
    }
}

/// What an interceptor around a streaming (or untyped) method receives as its request: the
/// request stream and the response writer, serialized messages both.
public struct StreamingCall: Sendable {
    public var requests: RequestStream<[UInt8]>
    public var writer: ResponseWriter<[UInt8]>

    public init(requests: RequestStream<[UInt8]>, writer: ResponseWriter<[UInt8]>) {
        self.requests = requests
        self.writer = writer
    }
}

/// The chain of a method's bound interceptors around a handler.
@usableFromInline
enum InterceptorChain {
    /// `handler` inside every interceptor of `chain`, the first one outermost; innermost, the
    /// context's `MessageObserver` sees the one request and the one response of a unary call
    /// (streams are observed message by message, see `streaming`).
    /// `@inlinable`: specialized where the typed method is made, so the closures have fixed
    /// layouts and call the handler without reabstraction thunks.
    @inlinable
    static func unary<Request: Sendable, Response: Sendable>(
        _ chain: [any ServerInterceptor], _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> @Sendable (Request, ServerContext) async throws -> Response {
        var composed: @Sendable (Request, ServerContext) async throws -> Response = { request, context in
            guard let observer = context.messageObserver else { return try await handler(request, context) }
            try observer.received()
            let response = try await handler(request, context)
            observer.sent()
            return response
        }
        for interceptor in chain.reversed() {
            let next = composed
            composed = { request, context in try await interceptor.intercept(request: request, context: context, next: next) }
        }
        return composed
    }

    /// The general form of `unary`: the handler reads and writes serialized messages, each of
    /// which the context's `MessageObserver` (if any) sees.
    static func streaming(
        _ chain: [any ServerInterceptor],
        _ handler: @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) -> @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void {
        var composed: @Sendable (StreamingCall, ServerContext) async throws -> Void = { call, context in
            guard let observer = context.messageObserver else { return try await handler(call.requests, call.writer, context) }
            try await handler(call.requests.observed(by: observer), call.writer.observed(by: observer), context)
        }
        for interceptor in chain.reversed() {
            let next = composed
            composed = { call, context in try await interceptor.intercept(request: call, context: context, next: next) }
        }
        let outer = composed
        return { requests, writer, context in try await outer(StreamingCall(requests: requests, writer: writer), context) }
    }
}
