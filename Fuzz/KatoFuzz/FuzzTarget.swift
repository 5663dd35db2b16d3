/// The fuzz targets: one entry function each, shared by the libFuzzer executables
/// (`Fuzz/Targets/Fuzz*`, built by `make fuzz`) and the corpus replay test (KatoFuzzTests), so
/// a committed corpus file or crash reproducer runs the same code in `make test` as in libFuzzer.
///
/// An entry function returns normally for any input: bad input must be refused with an error,
/// never a crash. A broken invariant (a value that does not survive its own round trip) is a
/// bug too, and traps with `preconditionFailure` so libFuzzer records the input.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Bytes from a client on a server connection: nghttp2 session, gRPC server, health,
    /// reflection and an echo service, driven through an `EmbeddedChannel`.
    case connection
    /// Bytes from a client on a server connection with no HTTP/2 preface: the same server, reached
    /// through the protocol detector's HTTP/1.1 side (gRPC-Web, Connect, CORS, GET routes).
    case http1
    /// gRPC length-prefixed framing, then decoding as each kato.v2 / health / reflection message.
    case grpcMessages = "grpc-messages"
    /// The CLI's proto3 JSON → protobuf and protobuf → proto3 JSON codecs over kato.v2's
    /// reflection descriptors.
    case protoJSON = "proto-json"
    /// `--config` files (JSON and YAML) and auth key files.
    case configFiles = "config-files"
    /// The durable store's BLOB record codec.
    case recordCodec = "record-codec"

    /// Runs one input.
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .connection: ConnectionFuzz.run(data, sendsPreface: true)
        case .http1: ConnectionFuzz.run(data, sendsPreface: false)
        case .grpcMessages: GRPCMessageFuzz.run(data)
        case .protoJSON: ProtoJSONFuzz.run(data)
        case .configFiles: ConfigFileFuzz.run(data)
        case .recordCodec: RecordCodecFuzz.run(data)
        }
    }

    /// Runs one input given as an array (the replay test).
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }

    /// The bytes the server writes for a `connection` or `http1` input (to check that the
    /// harness answers calls within the input, not only that it survives it).
    public func connectionResponse(_ bytes: [UInt8]) -> [UInt8] {
        precondition(self == .connection || self == .http1, "\(self) is not a connection target")
        return bytes.withUnsafeBytes { ConnectionFuzz.serve($0, sendsPreface: self == .connection, keepResponse: true) }
    }

    /// The libFuzzer callback body: `LLVMFuzzerTestOneInput(data, size)`.
    public func libFuzzerInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
        return 0
    }
}
