/// A web call's response in its protocol's form, whatever carries it (HTTP/1.1 or HTTP/2):
///
/// | protocol | messages | status |
/// |---|---|---|
/// | gRPC-Web | enveloped (base64 per chunk for `-text`) | a trailer block framed with flag 0x80 |
/// | Connect unary | the one message, bare | HTTP status + JSON error body; trailers as `trailer-` headers |
/// | Connect streaming | enveloped | end-of-stream JSON framed with flag 0x02 |
public struct WebResponseEncoder: Sendable {
    /// An HTTP status and header fields (lower-case names), for either transport to send.
    public struct Head: Sendable {
        public var status: Int
        public var fields: [(String, String)]
    }

    public let kind: WebRequestKind
    public let path: String
    private let transcoder: MessageTranscoder?
    private let maxMessageSize: Int
    /// gzip, when the client accepts it (the transport supplies zlib): response messages of at
    /// least `compressionThreshold` bytes are sent compressed.
    private let gzip: (@Sendable ([UInt8]) -> [UInt8])?
    /// A Connect GET (`ConnectGetRequest`): its answer carries caching fields (below), and
    /// `ifNoneMatch` (the request's `if-none-match`) may make it a 304.
    public var isGet = false
    public var ifNoneMatch: String?

    /// Smaller messages go uncompressed: gzip's 18-byte frame and the CPU are not worth it.
    public static let compressionThreshold = 1024

    public init(kind: WebRequestKind, path: String, transcoder: MessageTranscoder?, maxMessageSize: Int,
                gzip: (@Sendable ([UInt8]) -> [UInt8])? = nil) {
        self.kind = kind
        self.path = path
        self.transcoder = transcoder
        self.maxMessageSize = maxMessageSize
        self.gzip = gzip
    }

    /// The head of a response that carries messages: 200, the content type, the encodings
    /// (the server's accepted list; the one it compresses with when the client takes gzip),
    /// initial metadata.
    public func head(initial: Metadata) -> Head {
        var fields = [("content-type", kind.responseContentType), (kind.responseEncodingHeaders.accept, Self.acceptedEncodings)]
        if gzip != nil { fields.append((kind.responseEncodingHeaders.used, "gzip")) }
        return Head(status: 200, fields: fields + Self.fields(initial.merged(with: Metadata())))
    }

    /// What requests may be compressed with (listed in each response's accept header).
    static let acceptedEncodings = "gzip"

    /// One response message: size-checked, written as JSON if asked, framed.
    public func message(_ message: [UInt8]) throws(RPCError) -> [UInt8] {
        guard message.count <= maxMessageSize else {
            throw RPCError(code: .resourceExhausted, message: "response message larger than max (\(maxMessageSize))")
        }
        var payload = message
        if kind.codec == .json {
            guard let transcoder else {
                throw RPCError(code: .unimplemented, message: "this server does not map its messages to JSON")
            }
            payload = try transcoder.response(toJSON: message, path: path)
        }
        switch kind.webProtocol {
        case .connectUnary: return payload  // compressed whole, in `end`
        case .connectStreaming: return framed(payload)
        case .grpcWeb(let text):
            let framed = framed(payload)
            return text ? Array(Base64.encode(framed, padded: true).utf8) : framed
        }
    }

    /// An enveloped message, compressed (flag 0x01) when gzip is on and it is big enough.
    private func framed(_ payload: [UInt8]) -> [UInt8] {
        guard let gzip, payload.count >= Self.compressionThreshold else { return WebEnvelope.frame(payload) }
        return WebEnvelope.frame(gzip(payload), flags: WebEnvelope.compressedFlag)
    }

    /// The end of a call: the head when none was sent yet, and the last bytes of the body
    /// (`messages` already encoded by `message(_:)`; ignored when `error` is set for unary).
    public func end(error: RPCError?, messages: [[UInt8]], initial: Metadata, trailing: Metadata,
                    headSent: Bool) -> (head: Head?, body: [UInt8]) {
        switch kind.webProtocol {
        case .connectUnary:
            var fields = [(kind.responseEncodingHeaders.accept, Self.acceptedEncodings)] + Self.fields(initial.merged(with: Metadata()))
            fields += Self.fields((error?.trailingMetadata ?? Metadata()).merged(with: trailing)).map { ("trailer-" + $0.0, $0.1) }
            let status: Int
            var body: [UInt8]
            if let error {
                status = error.cause is ConnectGetRequest.MethodNotAllowed ? 405 : ConnectError.httpStatus(of: error.code)
                if status == 405 { fields.append(("allow", "POST")) }
                body = ConnectError.body(error)
                fields.insert(("content-type", "application/json"), at: 0)
                if isGet { fields.append(("cache-control", "no-store")) }  // an error is no answer to keep
            } else {
                status = 200
                body = messages.first ?? []
                fields.insert(("content-type", kind.responseContentType), at: 0)
                if let gzip, body.count >= Self.compressionThreshold {
                    body = gzip(body)
                    fields.append(("content-encoding", "gzip"))
                }
                if isGet {
                    // The answer depends on the caller's credentials and on live state: a browser
                    // may keep it but revalidates each time (a 304 when the bytes are the same);
                    // shared caches do not store it. Its form depends on accept-encoding.
                    let etag = Self.etag(body)
                    fields += [("etag", etag), ("cache-control", "private, no-cache"), ("vary", "accept-encoding")]
                    if let ifNoneMatch, Self.matches(ifNoneMatch, etag: etag) {
                        fields.removeAll { $0.0 == "content-type" || $0.0 == "content-encoding" }
                        return (headSent ? nil : Head(status: 304, fields: fields), [])
                    }
                }
            }
            fields.append(("content-length", String(body.count)))
            return (headSent ? nil : Head(status: status, fields: fields), body)
        case .grpcWeb(let text):
            var body = messages.flatMap { $0 }
            let trailers = WebEnvelope.grpcWebTrailers(status: error, trailing: trailing)
            body += text ? Array(Base64.encode(trailers, padded: true).utf8) : trailers
            return (headSent ? nil : head(initial: initial), body)
        case .connectStreaming:
            var body = messages.flatMap { $0 }
            let end = ConnectError.endStream(error, trailing: (error?.trailingMetadata ?? Metadata()).merged(with: trailing))
            body += WebEnvelope.frame(end, flags: WebEnvelope.connectEndStreamFlag)
            return (headSent ? nil : head(initial: initial), body)
        }
    }

    /// CORS response fields for an allowed origin; `exposing` the head's own field names, so
    /// that scripts may read metadata and gRPC-Web's status headers.
    public static func corsFields(origin: String, exposing head: Head?) -> [(String, String)] {
        var fields = [("access-control-allow-origin", origin)]
        if origin != "*" { fields.append(("vary", "origin")) }
        if let head {
            let own = Set(head.fields.map(\.0)).subtracting(["content-type", "content-length"])
            fields.append(("access-control-expose-headers",
                           (["grpc-status", "grpc-message", "grpc-status-details-bin"] + own.sorted()).joined(separator: ", ")))
        }
        return fields
    }

    /// A strong entity tag of a response body (FNV-1a, 64 bits): equal bytes, equal tag.
    public static func etag(_ body: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in body { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether an `if-none-match` list names `etag` (`*`, weak `W/` forms included: RFC 9110
    /// 13.1.2 compares weakly).
    public static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { item in
            var tag = Substring(item.filter { $0 != " " && $0 != "\t" })
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            return tag == "*" || tag == etag
        }
    }

    /// Request headers the web protocols and browsers use for themselves: never call metadata.
    public static func isProtocolHeader(_ key: String) -> Bool {
        key.hasPrefix("connect-") || key.hasPrefix("access-control-") || key.hasPrefix("sec-")
            || ["accept", "accept-encoding", "accept-language", "content-encoding", "origin", "referer",
                "x-grpc-web", "x-user-agent", "cache-control", "pragma", "if-none-match", "if-modified-since"].contains(key)
    }

    private static func fields(_ entries: [Metadata.Entry]) -> [(String, String)] {
        entries.map { ($0.key, $0.wireValue) }
    }
}

/// CORS preflight answers (`OPTIONS`), the same over HTTP/1.1 and HTTP/2.
public enum WebCORS {
    public static func preflightFields(origin: String, requestedHeaders: String?) -> [(String, String)] {
        WebResponseEncoder.corsFields(origin: origin, exposing: nil) + [
            ("access-control-allow-methods", "GET, POST, OPTIONS"),
            ("access-control-allow-headers", requestedHeaders
                ?? "content-type, connect-protocol-version, connect-timeout-ms, grpc-timeout, x-grpc-web, x-user-agent, authorization"),
            ("access-control-max-age", "7200"),
        ]
    }
}
