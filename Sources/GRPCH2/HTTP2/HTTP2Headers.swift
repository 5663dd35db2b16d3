import CNGHTTP2

/// One HTTP/2 header field, as text.
public struct HeaderField: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Header fields sent on nearly every call (`:status 200` + `content-type` ..., `grpc-status 0`),
/// converted once into nghttp2's name/value array: submitting them alone copies no Strings.
/// Immutable after `init`, hence `@unchecked Sendable` (it holds C pointers).
final class PreparedHeaders: @unchecked Sendable {
    let fields: [HeaderField]
    let nva: UnsafeMutableBufferPointer<nghttp2_nv>
    private let bytes: UnsafeMutableBufferPointer<UInt8>

    init(_ fields: [HeaderField]) {
        self.fields = fields
        let size = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        bytes = .allocate(capacity: max(1, size))
        nva = .allocate(capacity: max(1, fields.count))
        var offset = 0
        for (i, field) in fields.enumerated() {
            let name = bytes.baseAddress! + offset
            offset = bytes[offset...].initialize(fromContentsOf: field.name.utf8)
            let value = bytes.baseAddress! + offset
            offset = bytes[offset...].initialize(fromContentsOf: field.value.utf8)
            nva[i] = nghttp2_nv(name: name, value: value, namelen: field.name.utf8.count, valuelen: field.value.utf8.count,
                                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
    }

    deinit {
        bytes.deallocate()
        nva.deallocate()
    }
}

/// Headers to submit: prepared ones (if any) followed by `extra` fields (metadata, errors).
struct OutboundHeaders: ExpressibleByArrayLiteral {
    var prepared: PreparedHeaders?
    var extra: [HeaderField]

    init(prepared: PreparedHeaders? = nil, extra: [HeaderField] = []) {
        self.prepared = prepared
        self.extra = extra
    }

    init(arrayLiteral elements: HeaderField...) {
        self.init(extra: elements)
    }

    var isEmpty: Bool { (prepared?.fields.isEmpty ?? true) && extra.isEmpty }
    var fields: [HeaderField] { (prepared?.fields ?? []) + extra }
}

/// What a stream's body source hands nghttp2 when it asks for DATA.
enum BodyChunk {
    /// No bytes now; nghttp2 parks the stream until `resumeData(streamID:)`.
    case deferred
    /// Bytes to send; more may follow.
    case bytes(ArraySlice<UInt8>)
    /// The last bytes (possibly none), then trailers that end the stream.
    case end(ArraySlice<UInt8>, trailers: OutboundHeaders)
}
