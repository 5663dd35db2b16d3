/// What a call's task does, whatever transport started it (HTTP/2 gRPC, HTTP/1.1 web
/// protocols): the interceptors around the handler, then the outcome to the call's stream.
extension MethodEntry {
    package func callBody(
        requests: RequestStream<[UInt8]>, context callContext: ServerContext, handle: StreamHandle,
        interceptors: [any ServerInterceptor]
    ) -> @Sendable () async -> Void {
        let method = self.method
        // Single-response calls (unary, client-streaming) buffer their one message, so the
        // transport sees it with the status and both leave in one hop.
        let buffered = method.kind == .unary || method.kind == .clientStreaming
        let bufferingSink = buffered ? BufferingSink() : nil
        let sink: any ResponseSink = bufferingSink ?? LiveSink(handle: handle)
        let writer = ResponseWriter<[UInt8]>(sink: sink, encode: { $0 })
        return {
            var outcome: RPCError?
            do {
                if interceptors.isEmpty {
                    try await method.handler(requests, writer, callContext)
                } else {
                    try await interceptors.run(callContext) { ctx in
                        if let observer = ctx.messageObserver {
                            try await method.handler(requests.observed(by: observer), writer.observed(by: observer), ctx)
                        } else {
                            try await method.handler(requests, writer, ctx)
                        }
                    }
                }
            } catch {
                outcome = RPCError(mapping: error)
            }
            handle.complete(messages: bufferingSink?.drain() ?? [], error: outcome, context: callContext)
        }
    }
}
