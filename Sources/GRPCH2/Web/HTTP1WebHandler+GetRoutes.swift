import GRPCH2Core
import NIOCore
import NIOHTTP1

/// Plain GET resources (`HTTPGetRoute`) over HTTP/1.1: the route answers off the event loop and
/// the response is written back on it. NIO's pipelining helper holds a pipelined next request
/// until this response has ended, as for calls.
extension HTTP1WebHandler {
    func respondToGet(_ head: HTTPRequestHead, _ route: HTTPGetRoute) {
        guard let context else { return }
        let uri = head.uri
        let path = String(uri.prefix { $0 != "?" })
        let query = uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
        let request = HTTPGetRequest(path: path, query: query,
                                     headers: head.headers.map { (name: $0.name.lowercased(), value: $0.value) }, peer: peer)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        getInFlight = true  // a shutdown now closes the connection after this response, not before
        Task {
            let response = await route.respond(request)
            eventLoop.execute { loopBound.value.sendGetResponse(head, response) }
        }
    }

    private func sendGetResponse(_ head: HTTPRequestHead, _ response: HTTPGetResponse) {
        getInFlight = false
        guard let context else { return }
        let (fields, body) = response.wireForm(acceptEncoding: head.headers.first(name: "accept-encoding"), head: head.method == .HEAD)
        var headers = HTTPHeaders(fields)
        let keepAlive = head.isKeepAlive && !closeAfterResponse
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
        endResponse(keepAlive: keepAlive)
    }
}
