import GRPCH2Core

/// A web call's one request message, from its whole HTTP body: unwrapped from its protocol's
/// form (base64 text, envelope, or bare), decompressed, and turned from JSON into the binary
/// the handlers read. Every failure is the client's, with a status saying what was wrong.
struct WebRequestDecoding {
    let kind: WebRequestKind
    let path: String
    let maxMessageSize: Int
    let transcoder: MessageTranscoder?

    /// The most a web request body may hold for a message of at most `maxMessageSize`: that
    /// message base64-inflated (gRPC-Web-text) and framed.
    static func bodyLimit(maxMessageSize: Int) -> Int { maxMessageSize / 3 * 4 + 64 }

    /// `header` reads a request header by (lower-case) name.
    func message(body: [UInt8], header: (String) -> String?) throws(RPCError) -> [UInt8] {
        var payload: [UInt8]
        switch kind.webProtocol {
        case .grpcWeb(let text):
            payload = try single(framesIn: text ? WebEnvelope.decodeText(body) : body,
                                 encoding: header("grpc-encoding"), encodingHeader: "grpc-encoding")
        case .connectStreaming:
            payload = try single(framesIn: body, encoding: header("connect-content-encoding"),
                                 encodingHeader: "connect-content-encoding")
        case .connectUnary:
            payload = try decompress(body, encoding: header("content-encoding"), encodingHeader: "content-encoding")
            guard payload.count <= maxMessageSize else {
                throw RPCError(code: .resourceExhausted, message: "request message larger than max (\(payload.count) vs. \(maxMessageSize))")
            }
        }
        guard kind.codec == .json else { return payload }
        guard let transcoder else {
            throw RPCError(code: .unimplemented, message: "this server does not map its messages to JSON: send application/proto")
        }
        return try transcoder.request(fromJSON: payload, path: path)
    }

    private func single(framesIn body: [UInt8], encoding: String?, encodingHeader: String) throws(RPCError) -> [UInt8] {
        let frames = try WebEnvelope.frames(in: body, maxPayload: maxMessageSize)
        guard let frame = frames.first else {
            throw RPCError(code: .unimplemented, message: "call received no request message")
        }
        guard frames.count == 1 else {
            throw RPCError(code: .unimplemented, message: "call received more than one request message")
        }
        switch frame.flags {
        case 0: return frame.payload
        case WebEnvelope.compressedFlag:
            guard encoding != nil, encoding != "identity" else {
                throw RPCError(code: .internalError, message: "compressed request message without \(encodingHeader)")
            }
            return try decompress(frame.payload, encoding: encoding, encodingHeader: encodingHeader)
        default:
            throw RPCError(code: .invalidArgument, message: "request message has unknown flags 0x\(String(frame.flags, radix: 16))")
        }
    }

    private func decompress(_ bytes: [UInt8], encoding: String?, encodingHeader: String) throws(RPCError) -> [UInt8] {
        switch encoding {
        case nil, "identity":
            return bytes
        case "gzip":
            do {
                return try Gzip.decompress(bytes, limit: maxMessageSize)
            } catch .tooLarge(let limit) {
                throw RPCError(code: .resourceExhausted, message: "decompressed message larger than max (\(limit))")
            } catch {
                throw RPCError(code: .invalidArgument, message: "cannot decompress request: \(error)")
            }
        case let other?:
            throw RPCError(code: .unimplemented, message: "\(encodingHeader) '\(other)' is not supported (supported: identity, gzip)")
        }
    }
}

extension WebResponseEncoder {
    /// The encoder for a web call on this server, compressing with gzip when the request's
    /// headers (`header`, by lower-case name) accept it.
    init(kind: WebRequestKind, path: String, router: ServiceRouter, configuration: ServerConfiguration,
         header: (String) -> String?) {
        let gzip: (@Sendable ([UInt8]) -> [UInt8])? = kind.acceptsGzip(header: header) ? Self.gzip : nil
        self.init(kind: kind, path: path, transcoder: router.messageTranscoder,
                  maxMessageSize: configuration.maxSendMessageSize, gzip: gzip)
    }

    private static let gzip: @Sendable ([UInt8]) -> [UInt8] = { Gzip.compress($0) }
}
