import Synchronization

/// Runs a router's methods in process, without HTTP/2 or sockets: the calls go through the
/// same parts as over the network — the router's method with its interceptor chain, the
/// direct unary path (`ServerMethod.startUnary`) or the general one, the error mapping at the
/// edge (`RPCError(mapping:in:)`), the deadline (`DeadlineStatus.exceeded`) — so services,
/// interceptors and their order are tested fast. The transport's own rules (headers, framing,
/// flow control) are `GRPCH2`'s and are tested there; request metadata is taken as given.
package struct InProcessTransport: Sendable {
    package let router: ServiceRouter

    package init(router: ServiceRouter) {
        self.router = router
    }

    /// A call's outcome as a client would see it.
    package struct Response: Sendable {
        /// The response messages, serialized.
        package var messages: [[UInt8]] = []
        /// nil: OK.
        package var status: RPCError?
        package var initialMetadata = Metadata()
        /// The handler's trailing metadata followed by the status's.
        package var trailingMetadata = Metadata()
        package var code: StatusCode { status?.code ?? .ok }
    }

    /// Calls `path` with `requests` (all sent, then half-close) and waits for its end.
    package func call(
        path: String, requests: [[UInt8]], metadata: Metadata = Metadata(), timeout: Duration? = nil,
        peer: String = "in-process"
    ) async -> Response {
        guard let entry = router.method(for: path) else {
            return Response(status: RPCError(code: .unimplemented, message: "Method not found: \(path)"))
        }
        let method = entry.method
        let context = ServerContext(
            path: path, requestMetadata: metadata, deadline: timeout.map { ContinuousClock.now + $0 }, peer: peer,
            kind: method.kind)
        let call = InProcessCall(context: context)
        let handle = StreamHandle(owner: call, streamID: 1)
        return await withCheckedContinuation { continuation in
            call.start(continuation)
            let task: Task<Void, Never>
            if requests.count == 1, let startUnary = method.startUnary {
                task = startUnary(requests[0], context, handle, nil)
            } else {
                let single = method.kind == .unary || method.kind == .clientStreaming
                let buffer = single ? BufferingSink() : nil
                let writer = ResponseWriter<[UInt8]>(sink: buffer ?? LiveSink(handle: handle), encode: { $0 })
                task = Task {
                    var outcome: RPCError?
                    do {
                        try await method.handler(RequestStream<[UInt8]>.completed(requests), writer, context)
                    } catch {
                        outcome = RPCError(mapping: error, in: context)
                    }
                    handle.complete(messages: buffer?.drain() ?? [], error: outcome, context: context)
                }
            }
            if let timeout {
                // The deadline ends the call as the server's timer does: DEADLINE_EXCEEDED, then the
                // handler is cancelled. In that order: a handler that returns as soon as it sees the
                // cancellation must not end the call first with its own status.
                Task {
                    try? await Task.sleep(for: timeout)
                    call.complete(streamID: 1, messages: [], error: DeadlineStatus.exceeded, context: context)
                    task.cancel()
                }
            }
        }
    }
}

/// One in-process call: collects what the handler's task hands the transport; the first end wins.
final class InProcessCall: ServerStreamOwner {
    private struct State {
        var messages: [[UInt8]] = []
        var continuation: CheckedContinuation<InProcessTransport.Response, Never>?
        var ended = false
    }

    private let state = Mutex(State())
    private let context: ServerContext

    init(context: ServerContext) {
        self.context = context
    }

    func start(_ continuation: CheckedContinuation<InProcessTransport.Response, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func write(streamID: Int32, message: [UInt8]) async throws {
        try state.withLock { s in
            if s.ended { throw RPCError(code: .cancelled, message: "the call has ended") }
            s.messages.append(message)
        }
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context _: ServerContext) {
        end(messages, error)
    }

    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        end([Array(framedMessage[MessageFramer.prefixLength...])], nil)
    }

    func consumed(streamID: Int32) {}

    private func end(_ last: [[UInt8]], _ error: RPCError?) {
        let (initial, trailing) = context.call.state.withLock { ($0.initial, $0.trailing) }
        let taken: (CheckedContinuation<InProcessTransport.Response, Never>, [[UInt8]])? = state.withLock { s in
            guard !s.ended, let continuation = s.continuation else { return nil }
            s.ended = true
            s.continuation = nil
            return (continuation, s.messages + last)
        }
        guard let (continuation, messages) = taken else { return }
        var response = InProcessTransport.Response(messages: messages, status: error, initialMetadata: initial)
        response.trailingMetadata = trailing
        if let error { response.trailingMetadata.append(contentsOf: error.trailingMetadata) }
        continuation.resume(returning: response)
    }
}
