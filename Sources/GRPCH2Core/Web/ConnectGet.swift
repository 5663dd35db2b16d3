import ProtobufCBridge

/// A Connect unary call sent as an HTTP GET (Connect protocol, "Unary-Get-Request"): the
/// request message travels in the query, so browsers, CDNs and proxies can cache the answer.
/// Only methods declared side-effect free (`option idempotency_level = NO_SIDE_EFFECTS`) may be
/// called so. Transport-free: HTTP/1.1 and HTTP/2 read the query with this and then run the call
/// as a POST's, through the same router, interceptors and handlers.
///
///     GET /pkg.Service/Method?connect=v1&encoding=json&message=%7B%7D
///     GET /pkg.Service/Method?connect=v1&encoding=proto&base64=1&compression=gzip&message=H4sI…
public struct ConnectGetRequest: Sendable, Equatable {
    /// Connect unary, in the codec `encoding` names.
    public var kind: WebRequestKind
    /// The message as sent (`base64=1` undone; still compressed when `compression` says so).
    public var message: [UInt8]
    /// `compression` (nil: none), read as a POST's `content-encoding`.
    public var compression: String?

    /// Reads a query (what follows `?`, undecoded). Parameters it does not know are ignored (a
    /// client may add a cache-buster); each known one is read once (the first).
    public static func parse(query: String) -> Result<ConnectGetRequest, RPCError> {
        var values: [String: [UInt8]] = [:]
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]).map({ String(decoding: $0, as: UTF8.self) }) else {
                return .failure(invalid("a query parameter's name is not valid percent-encoding"))
            }
            guard ["connect", "encoding", "message", "base64", "compression"].contains(name), values[name] == nil else { continue }
            guard let value = parts.count > 1 ? percentDecoded(parts[1]) : [] else {
                return .failure(invalid("query parameter '\(name)' is not valid percent-encoding"))
            }
            values[name] = value
        }
        func text(_ name: String) -> String? { values[name].map { String(decoding: $0, as: UTF8.self) } }
        if let version = text("connect"), version != "v1" {
            return .failure(invalid("connect=\(version): this server speaks Connect protocol version v1"))
        }
        let codec: WebCodec
        switch text("encoding") {
        case "json": codec = .json
        case "proto": codec = .proto
        case nil: return .failure(invalid("a Connect GET needs encoding=json or encoding=proto in its query"))
        case let other?: return .failure(invalid("encoding=\(other) is not supported (json, proto)"))
        }
        var message = values["message"] ?? []
        switch text("base64") {
        case nil, "0": break
        case "1":
            // URL-safe base64 (the standard alphabet is taken too), padding optional.
            guard let decoded = Base64.decode(String(decoding: message, as: UTF8.self)) else {
                return .failure(invalid("message is not valid base64 (base64=1)"))
            }
            message = decoded
        case let other?: return .failure(invalid("base64=\(other): expected 1 (or 0)"))
        }
        return .success(ConnectGetRequest(kind: WebRequestKind(webProtocol: .connectUnary, codec: codec), message: message,
                                          compression: text("compression")))
    }

    /// Whether `path` (a method of `kind`) may be called with GET: nil when it may, else the
    /// refusal — a streaming method is unimplemented as GET; a method not declared side-effect
    /// free is answered 405 with `Allow: POST` (`WebResponseEncoder`, via `MethodNotAllowed`).
    public static func refusal(for kind: CallKind, path: String, hasNoSideEffects: Bool) -> RPCError? {
        guard kind == .unary else {
            return RPCError(code: .unimplemented, message: "\(path) is \(kind.rawValue): only unary calls may be sent as GET")
        }
        guard hasNoSideEffects else {
            return RPCError(code: .unimplemented, message:
                "\(path) may have side effects (its proto does not declare idempotency_level = NO_SIDE_EFFECTS): call it with POST",
                cause: MethodNotAllowed())
        }
        return nil
    }

    /// The cause of a refusal answered 405 `Allow: POST` rather than with its code's status.
    public struct MethodNotAllowed: Error, Sendable {}

    private static func invalid(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: message)
    }

    /// `application/x-www-form-urlencoded` decoding, as connect-go's (Go's `url.ParseQuery`):
    /// `%XX` escapes, `+` is a space. Nil for a malformed escape.
    static func percentDecoded(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let b = iterator.next() {
            switch b {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let h = iterator.next().flatMap(hexValue), let l = iterator.next().flatMap(hexValue) else { return nil }
                out.append(h << 4 | l)
            default: out.append(b)
            }
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension MessageTranscoder {
    /// Whether the method at `path` is declared side-effect free in its proto
    /// (`idempotency_level = NO_SIDE_EFFECTS`), which lets Connect clients call it with GET.
    public func hasNoSideEffects(path: String) -> Bool {
        codec.pool.method(String(path.drop { $0 == "/" }))?.hasNoSideEffects ?? false
    }
}
