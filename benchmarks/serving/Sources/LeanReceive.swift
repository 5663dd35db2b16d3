// The benchmark client's receive path, kept lean so that it is not the ceiling of what it
// measures (docs/BENCHMARKS.md "Serving"): still a real gRPC client over real sockets (GRPCClient,
// HTTP/2, the same frames), but
//   - each subscriber's task runs on its connection's event loop (a task executor preference),
//     as the server runs its handlers: a received message resumes its reader on the thread that
//     read it, with no wake-up of another thread;
//   - an update is decoded only as far as the benchmark reads it (sequence, cause, size), not
//     into the full PredictionUpdate with its predictions' strings.
import GRPCH2
import KatoProto
import NIOCore
import ProtobufCBridge

/// Runs Swift tasks on one NIO event loop.
final class LoopExecutor: TaskExecutor {
    let loop: any EventLoop
    init(loop: any EventLoop) { self.loop = loop }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// The head of a `kato.v2.PredictionUpdate`: sequence (field 2), cause (field 3) and the
/// message's size; every other field is skipped by its wire type.
struct UpdateHead: ProtoMessage {
    static var protoMessageName: String { Kato_V2_PredictionUpdate.protoMessageName }
    static var cDescriptor: ProtoCDescriptor { Kato_V2_PredictionUpdate.cDescriptor }
    var sequence: Int64 = 0
    var cause: Int32 = 0
    var size = 0

    init() {}

    init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError) {
        size = bytes.count
        var i = 0
        func varint() throws(ProtoDecodingError) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count {
                let b = bytes[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
                if shift > 63 { break }
            }
            throw Self.truncated
        }
        while i < bytes.count {
            let key = try varint()
            switch (key >> 3, key & 7) {
            case (2, 0): sequence = Int64(bitPattern: try varint())
            case (3, 0): cause = Int32(truncatingIfNeeded: try varint())
            case (_, 0): _ = try varint()
            case (_, 1): i += 8
            case (_, 2): i += Int(try varint())
            case (_, 5): i += 4
            default: throw Self.truncated
            }
        }
        guard i == bytes.count else { throw Self.truncated }
    }

    static let truncated = ProtoDecodingError(messageName: protoMessageName, reason: "truncated or malformed")

    // The protobuf-c path (not used by the benchmark's receive path): through the full message.
    init(protoC reader: ProtoCReader) throws(ProtoDecodingError) {
        let full = try Kato_V2_PredictionUpdate(protoC: reader)
        sequence = full.sequence
        cause = full.cause.rawValue
    }

    func writeProtoC(to writer: ProtoCWriter) {
        full.writeProtoC(to: writer)
    }

    func serializedBytes() -> [UInt8] { full.serializedBytes() }

    private var full: Kato_V2_PredictionUpdate {
        var m = Kato_V2_PredictionUpdate()
        m.sequence = sequence
        m.cause = Kato_V2_UpdateCause(rawValue: cause)
        return m
    }
}
