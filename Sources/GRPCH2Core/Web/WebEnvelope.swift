/// The length-prefixed frames of gRPC-Web bodies and Connect streaming bodies: one flags byte,
/// a 4-byte big-endian length, the payload. The flags differ by protocol: bit 0 is
/// "compressed" in both; gRPC-Web marks its trailer block with 0x80, Connect its
/// end-of-stream message with 0x02.
public enum WebEnvelope {
    public static let compressedFlag: UInt8 = 0x01
    public static let grpcWebTrailersFlag: UInt8 = 0x80
    public static let connectEndStreamFlag: UInt8 = 0x02

    public struct Frame: Sendable, Equatable {
        public var flags: UInt8
        public var payload: [UInt8]
    }

    /// Appends one frame to `out`.
    public static func append(_ payload: [UInt8], flags: UInt8 = 0, to out: inout [UInt8]) {
        let n = UInt32(payload.count)
        out.append(flags)
        out.append(UInt8(n >> 24)); out.append(UInt8(n >> 16 & 0xFF)); out.append(UInt8(n >> 8 & 0xFF)); out.append(UInt8(n & 0xFF))
        out.append(contentsOf: payload)
    }

    public static func frame(_ payload: [UInt8], flags: UInt8 = 0) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 5)
        append(payload, flags: flags, to: &out)
        return out
    }

    /// Splits a whole request body into frames; a truncated frame, or one larger than
    /// `maxPayload`, is the client's error.
    public static func frames(in body: [UInt8], maxPayload: Int) throws(RPCError) -> [Frame] {
        var frames: [Frame] = []
        var i = 0
        while i < body.count {
            guard body.count - i >= 5 else {
                throw RPCError(code: .invalidArgument, message: "request body ends inside a message prefix")
            }
            let length = Int(body[i + 1]) << 24 | Int(body[i + 2]) << 16 | Int(body[i + 3]) << 8 | Int(body[i + 4])
            guard length <= maxPayload else {
                throw RPCError(code: .resourceExhausted, message: "request message larger than max (\(length) vs. \(maxPayload))")
            }
            guard body.count - i - 5 >= length else {
                throw RPCError(code: .invalidArgument, message: "request body ends inside a message (\(length) bytes announced, \(body.count - i - 5) present)")
            }
            frames.append(Frame(flags: body[i], payload: Array(body[(i + 5)..<(i + 5 + length)])))
            i += 5 + length
        }
        return frames
    }

    /// gRPC-Web's trailer block: the status and trailing metadata as HTTP/1-style header
    /// lines (`name: value\r\n`, lower-case names), framed with flag 0x80.
    public static func grpcWebTrailers(status: RPCError?, trailing: Metadata) -> [UInt8] {
        var block = ""
        block += "grpc-status: \(status?.code.rawValue ?? 0)\r\n"
        if let status {
            if !status.message.isEmpty { block += "grpc-message: \(PercentEncoding.encode(status.message))\r\n" }
            if let details = status.statusDetails { block += "grpc-status-details-bin: \(Base64.encode(details))\r\n" }
        }
        for entry in (status?.trailingMetadata ?? Metadata()).merged(with: trailing) {
            block += "\(entry.key): \(entry.wireValue)\r\n"
        }
        return frame(Array(block.utf8), flags: grpcWebTrailersFlag)
    }

    /// Decodes a gRPC-Web-text body: base64 chunks, each possibly padded, concatenated.
    public static func decodeText(_ body: [UInt8]) throws(RPCError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(body.count * 3 / 4)
        var chunk = [UInt8]()
        var i = 0
        while i < body.count {
            let c = body[i]
            i += 1
            if c == UInt8(ascii: "\r") || c == UInt8(ascii: "\n") { continue }
            chunk.append(c)
            // Padding ends a chunk: the next chunk starts at the first non-'=' byte.
            if c == UInt8(ascii: "=") {
                while i < body.count, body[i] == UInt8(ascii: "=") { chunk.append(body[i]); i += 1 }
                try decodeChunk(chunk, into: &out)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try decodeChunk(chunk, into: &out) }
        return out
    }

    private static func decodeChunk(_ chunk: [UInt8], into out: inout [UInt8]) throws(RPCError) {
        guard let bytes = Base64.decode(String(decoding: chunk, as: UTF8.self)) else {
            throw RPCError(code: .invalidArgument, message: "grpc-web-text request body is not valid base64")
        }
        out.append(contentsOf: bytes)
    }
}

extension Metadata {
    /// `self`'s entries then `other`'s, reserved names dropped (what a peer may be sent).
    package func merged(with other: Metadata) -> [Entry] {
        (Array(self) + Array(other)).filter { !Metadata.isReserved($0.key) }
    }
}

extension Metadata.Entry {
    /// The value as a header carries it (`-bin` values base64-encoded).
    package var wireValue: String {
        switch value {
        case .string(let s): s
        case .binary(let b): Base64.encode(b)
        }
    }
}
