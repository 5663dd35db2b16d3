/// What a call's task does, whatever transport started it (HTTP/2 gRPC, the web protocols,
/// the in-process transport): the method's handler (the router's interceptors are composed into
/// it), then the outcome to the call's stream, mapped to a status with the call's context.
extension MethodEntry {
    package func callBody(
        requests: RequestStream<[UInt8]>, context callContext: ServerContext, handle: StreamHandle
    ) -> @Sendable () async -> Void {
        let method = self.method
        // Single-response calls (unary, client-streaming) buffer their one message, so the
        // transport sees it with the status and both leave in one hop.
        let buffered = method.kind == .unary || method.kind == .clientStreaming
        let bufferingSink = buffered ? BufferingSink() : nil
        let sink: any ResponseSink = bufferingSink ?? LiveSink(handle: handle)
        let writer = ResponseWriter<[UInt8]>(sink: sink, encode: { $0 }, passesThrough: true)
        return {
            var outcome: RPCError?
            do {
                try await method.handler(requests, writer, callContext)
            } catch {
                outcome = RPCError(mapping: error, in: callContext)
            }
            handle.complete(messages: bufferingSink?.drain() ?? [], error: outcome, context: callContext)
        }
    }
}
