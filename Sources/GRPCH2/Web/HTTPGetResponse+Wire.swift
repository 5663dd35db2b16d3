import GRPCH2Core

/// A GET route's response as either transport sends it (HTTP/1.1 or HTTP/2), so the two send
/// the same fields: the route's own (less those a transport owns), gzip when the client
/// accepts it and it pays, and the length.
extension HTTPGetResponse {
    /// Content types worth compressing (text; already-compressed images and the like are not).
    static func isCompressible(_ contentType: String) -> Bool {
        let type = contentType.lowercased()
        return type.hasPrefix("text/") || type.hasPrefix("application/json") || type.hasPrefix("application/javascript")
            || type.hasPrefix("image/svg+xml")
    }

    /// `acceptEncoding`: the request's `accept-encoding`. `head`: a HEAD request, answered with
    /// the fields a GET would get (its length included) and no body.
    func wireForm(acceptEncoding: String?, head: Bool) -> (fields: [(String, String)], body: [UInt8]) {
        var fields = headers.filter { !["content-length", "connection", "transfer-encoding", "keep-alive"].contains($0.name) }
            .map { ($0.name, $0.value) }
        var body = self.body
        let contentType = headers.first { $0.name == "content-type" }?.value ?? ""
        let encoded = headers.contains { $0.name == "content-encoding" }
        if status == 200, !encoded, Self.isCompressible(contentType), body.count >= WebResponseEncoder.compressionThreshold {
            fields.append(("vary", "accept-encoding"))
            if let acceptEncoding, WebRequestKind.listsGzip(acceptEncoding) {
                body = Gzip.compress(body)
                fields.append(("content-encoding", "gzip"))
            }
        }
        fields.append(("content-length", String(body.count)))
        return (fields, head ? [] : body)
    }
}
