import ProtobufCBridge

/// The protocols besides gRPC that carry the same calls to the same handlers, as connect-go
/// serves them: gRPC-Web (binary and `-text`) and Connect (unary and streaming). Told apart
/// by the request's `content-type`; everything here is transport-free.
public enum WebProtocol: Sendable, Equatable {
    /// `application/grpc-web[+proto|+json]`, or `application/grpc-web-text[…]` when `text`
    /// (the body base64-encoded, for browsers that cannot read binary bodies).
    case grpcWeb(text: Bool)
    /// Connect unary: `application/proto` or `application/json`, the message bare in the body,
    /// the status in the HTTP status and a JSON error body.
    case connectUnary
    /// Connect streaming: `application/connect+proto|+json`, enveloped messages and an
    /// end-of-stream JSON message carrying the status.
    case connectStreaming

    /// The label metrics and logs use for it (`ServerContext.wireProtocol`).
    public var wireName: String {
        switch self {
        case .grpcWeb(let text): text ? "grpc-web-text" : "grpc-web"
        case .connectUnary, .connectStreaming: "connect"
        }
    }
}

/// How messages are written in a web call's body.
public enum WebCodec: Sendable, Equatable {
    case proto
    /// proto3 JSON, transcoded to and from the handlers' binary (`MessageTranscoder`).
    case json
}

/// What a web request's headers say about it.
public struct WebRequestKind: Sendable, Equatable {
    public var webProtocol: WebProtocol
    public var codec: WebCodec

    public init(webProtocol: WebProtocol, codec: WebCodec) {
        self.webProtocol = webProtocol
        self.codec = codec
    }

    /// The protocol a `content-type` names, or nil when it is none of the web protocols
    /// (plain gRPC included: `application/grpc` is the HTTP/2 transport's own).
    public init?(contentType: String) {
        // Parameters (`; charset=utf-8`) do not change the protocol.
        let type = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingSpaces().lowercased()
        } ?? ""
        switch type {
        case "application/grpc-web", "application/grpc-web+proto": self.init(webProtocol: .grpcWeb(text: false), codec: .proto)
        case "application/grpc-web+json": self.init(webProtocol: .grpcWeb(text: false), codec: .json)
        case "application/grpc-web-text", "application/grpc-web-text+proto": self.init(webProtocol: .grpcWeb(text: true), codec: .proto)
        case "application/grpc-web-text+json": self.init(webProtocol: .grpcWeb(text: true), codec: .json)
        case "application/proto": self.init(webProtocol: .connectUnary, codec: .proto)
        case "application/json": self.init(webProtocol: .connectUnary, codec: .json)
        case "application/connect+proto": self.init(webProtocol: .connectStreaming, codec: .proto)
        case "application/connect+json": self.init(webProtocol: .connectStreaming, codec: .json)
        default: return nil
        }
    }

    /// The response's `content-type`.
    public var responseContentType: String {
        let suffix = codec == .json ? "json" : "proto"
        switch webProtocol {
        case .grpcWeb(let text): return (text ? "application/grpc-web-text+" : "application/grpc-web+") + suffix
        case .connectUnary: return "application/" + suffix
        case .connectStreaming: return "application/connect+" + suffix
        }
    }

    /// The header carrying the call's timeout: gRPC-Web keeps `grpc-timeout`, Connect has
    /// `connect-timeout-ms` (a positive integer of at most 10 digits).
    public func timeout(from header: (String) -> String?) -> Result<Duration?, RPCError> {
        switch webProtocol {
        case .grpcWeb:
            guard let value = header("grpc-timeout") else { return .success(nil) }
            guard let duration = GRPCTimeout.parse(value) else {
                return .failure(RPCError(code: .invalidArgument, message: "malformed grpc-timeout '\(value)'"))
            }
            return .success(duration)
        case .connectUnary, .connectStreaming:
            guard let value = header("connect-timeout-ms") else { return .success(nil) }
            guard (1...10).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let millis = Int64(value) else {
                return .failure(RPCError(code: .invalidArgument, message: "malformed connect-timeout-ms '\(value)'"))
            }
            return .success(.milliseconds(millis))
        }
    }

    /// The header in which the client lists the encodings it takes for response messages, and
    /// the header naming the one the server used: `grpc-accept-encoding`/`grpc-encoding` for
    /// gRPC-Web, `accept-encoding`/`content-encoding` (the whole body) for Connect unary,
    /// `connect-accept-encoding`/`connect-content-encoding` (per envelope) for Connect streaming.
    public var responseEncodingHeaders: (accept: String, used: String) {
        switch webProtocol {
        case .grpcWeb: ("grpc-accept-encoding", "grpc-encoding")
        case .connectUnary: ("accept-encoding", "content-encoding")
        case .connectStreaming: ("connect-accept-encoding", "connect-content-encoding")
        }
    }

    /// Whether the client takes gzip-compressed responses: `gzip` among its accepted
    /// encodings (`gzip, deflate, br`, `identity,gzip`), not weighted `q=0`.
    public func acceptsGzip(header: (String) -> String?) -> Bool {
        guard let value = header(responseEncodingHeaders.accept) else { return false }
        return Self.listsGzip(value)
    }

    /// Whether an accept-encoding list takes gzip (not weighted `q=0`).
    public static func listsGzip(_ value: String) -> Bool {
        value.split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
            guard parts.first == "gzip" else { return false }
            guard let weight = parts.dropFirst().first(where: { $0.hasPrefix("q=") }) else { return true }
            return (Double(weight.dropFirst(2)) ?? 0) > 0
        }
    }

    /// Whether a method of `kind` can be called this way over a transport that cannot stream
    /// requests (HTTP/1.1, gRPC-Web): the refusal's status, or nil when it can.
    public func refusal(for kind: CallKind, path: String) -> RPCError? {
        if kind.isClientStreaming {
            return RPCError(code: .unimplemented, message:
                "\(path) streams requests, which \(webProtocol.wireName) over this transport cannot carry: call it with gRPC over HTTP/2")
        }
        switch (webProtocol, kind) {
        case (.connectUnary, .serverStreaming):
            return RPCError(code: .unimplemented, message:
                "\(path) is server-streaming: call it with content-type application/connect+proto or application/connect+json")
        case (.connectStreaming, .unary):
            return RPCError(code: .unimplemented, message:
                "\(path) is unary: call it with content-type application/proto or application/json")
        default:
            return nil
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
