import GRPCH2Core
import NIOCore

/// GET and HEAD on HTTP/2 streams, answered as HTTP/1.1 answers them (browsers under TLS
/// negotiate `h2` and send every request of a page on HTTP/2): a path an `HTTPGetRoute`
/// claims gets the route's response (the web console and its assets); a GET of a method is a
/// Connect GET call (`ConnectGetRequest`); anything else is the same plain-text 405.
extension ServerConnectionHandler {
    func startGet(_ stream: ServerStreamState, headers: consuming RequestHeaders) {
        let uri = headers.path
        let path = String(uri.prefix { $0 != "?" })
        let query = uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
        if let route = router.getRoute(for: path) {
            return respondToGetRoute(stream, route, path: path, query: query, metadata: headers.metadata, head: headers.method == "HEAD")
        }
        if headers.method == "GET", router.method(for: path) != nil {
            let parsed = ConnectGetRequest.parse(query: query)
            let kind = (try? parsed.get())?.kind ?? WebRequestKind(webProtocol: .connectUnary, codec: .json)
            return startWebCall(stream, headers: headers, kind: kind, get: parsed)
        }
        let origin = headers.metadata.firstString(forKey: "origin").flatMap { configuration.web.allowedOrigin($0) }
        var fields = [("content-type", "text/plain; charset=utf-8")]
        if let origin { fields += WebResponseEncoder.corsFields(origin: origin, exposing: nil) }
        let body = Array("\(headers.method) \(uri): calls are POST requests (gRPC-Web, Connect)\n".utf8)
        respondWhole(stream, status: 405, fields: fields + [("content-length", String(body.count))], body: body)
    }

    /// The route answers off the loop; its response comes back here, to the stream if it is
    /// still open. The stream stays in the table meanwhile, so a graceful shutdown waits for it.
    private func respondToGetRoute(_ stream: ServerStreamState, _ route: HTTPGetRoute, path: String, query: String,
                                   metadata: Metadata, head: Bool) {
        stream.machine.refuse()  // no call: the response ends the stream
        guard let context else { return }
        let request = HTTPGetRequest(path: path, query: query, headers: metadata.map { ($0.key, $0.wireValue) }, peer: peer)
        let acceptEncoding = metadata.firstString(forKey: "accept-encoding")
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = stream.id
        Task {
            let response = await route.respond(request)
            eventLoop.execute {
                let handler = loopBound.value
                guard let stream = handler.streams[id] else { return }  // the client reset it meanwhile
                let (fields, body) = response.wireForm(acceptEncoding: acceptEncoding, head: head)
                handler.respondWhole(stream, status: response.status, fields: fields, body: body)
            }
        }
    }

    /// A whole response that is no call (a GET route's, a refusal): HEADERS, then the body as
    /// DATA ending the stream (empty trailers: `http2BodyChunk`).
    func respondWhole(_ stream: ServerStreamState, status: Int, fields: [(String, String)], body: [UInt8]) {
        stream.machine.refuse()
        stream.pending = body
        stream.pendingOffset = 0
        stream.trailers = []
        let headers = OutboundHeaders(extra: [HeaderField(":status", String(status))] + fields.map { HeaderField($0.0, $0.1) })
        try? session?.submitResponse(streamID: stream.id, headers: headers, hasBody: !body.isEmpty)
        scheduleFlush()
    }
}
