import GRPCH2Core
import NIOCore

/// One call on the connection's event loop: its life (`machine`: phase, request messages,
/// held credit; every transition is there) and its resources: the handler task, timers, the
/// request stream, and the response bytes waiting for nghttp2 to pull them.
final class ServerStreamState {
    private(set) var id: Int32
    var machine = ServerStreamStateMachine()
    var phase: ServerStreamStateMachine.Phase { machine.phase }
    var compressResponses: Bool { machine.compressResponses }
    var method: MethodEntry?
    var context: ServerContext?
    /// `context.call`, kept apart: reaching it through the optional struct copied the context.
    var call: CallState?
    var deframer: MessageDeframer
    /// Client- and bidi-streaming requests: messages go straight to the running handler.
    /// Read `hasInbound` first: the continuation is a resilient stdlib type, so even testing
    /// the optional for nil goes through generic value witnesses (~100 instructions).
    var inbound: AsyncThrowingStream<[UInt8], any Error>.Continuation? {
        didSet { hasInbound = inbound != nil }
    }
    private(set) var hasInbound = false
    var task: Task<Void, Never>?
    var deadlineTimer: Scheduled<Void>?
    /// A gRPC-Web or Connect call (nil for gRPC): its body and response form.
    var web: HTTP2WebStream?

    // Response side.
    var pending: [UInt8] = []
    var pendingOffset = 0
    var trailers: OutboundHeaders?
    /// Writers suspended because `pending` is over the buffer limit.
    var waitingWriters: [CheckedContinuation<Void, any Error>] = []
    /// A push source waiting, for the same reason, to be taken from again (`takePushed`).
    var parkedPush: (source: any ResponsePushSource, sent: (@Sendable () -> Void)?)?

    init(id: Int32, maxMessageSize: Int) {
        self.id = id
        self.deframer = MessageDeframer(maxMessageSize: maxMessageSize)
    }

    /// A closed stream's object, kept to serve a new stream (`ServerConnectionHandler` keeps a
    /// few: one allocation fewer per call). `clear()` when the stream closes (every field back
    /// to its initial value, releasing what the call held), `reuse(id:)` when it serves again.
    func reuse(id: Int32) {
        self.id = id
    }

    func clear() {
        id = 0
        machine.reset()
        method = nil
        context = nil
        call = nil
        deframer = MessageDeframer(maxMessageSize: deframer.maxMessageSize)
        if hasInbound { inbound = nil }
        task = nil
        deadlineTimer = nil
        web = nil
        pending = []
        pendingOffset = 0
        trailers = nil
        waitingWriters = []
        parkedPush = nil
    }

    var pendingCount: Int { pending.count - pendingOffset }

    /// Takes up to `maxLength` queued response bytes for a DATA frame.
    func takePending(maxLength: Int) -> ArraySlice<UInt8> {
        let n = min(maxLength, pendingCount)
        let slice = pending[pendingOffset..<pendingOffset + n]
        pendingOffset += n
        if pendingOffset == pending.count {
            pending = []
            pendingOffset = 0
        } else if pendingOffset >= 256 * 1024, pendingOffset * 2 >= pending.count {
            // A streaming writer refills `pending` before it ever drains (it resumes at half
            // the buffer limit), so without compaction the sent prefix would be kept forever:
            // a long server stream to a slow reader grew by every byte it sent.
            pending.removeFirst(pendingOffset)
            pendingOffset = 0
        }
        return slice
    }

    /// Ends every suspended writer with `error` (the call is over).
    /// `error` is built only when a writer waits (rarely): most calls end with none.
    func failWriters(_ error: @autoclosure () -> any Error) {
        guard !waitingWriters.isEmpty else { return }
        let error = error()
        let writers = waitingWriters
        waitingWriters = []
        for w in writers { w.resume(throwing: error) }
    }
}

/// The request headers a call reads, taken as they arrive (no header list in between).
struct RequestHeaders {
    var path = "", method = "", contentType = "", acceptEncoding = ""
    var encoding: String?, timeout: String?
    var metadata = Metadata()
    /// The header list size so far (RFC 9113 §6.5.2 accounting), against `maxHeaderListSize`.
    var listSize = 0

    /// Takes one header. The reserved ones a call does not read (`:scheme`, `:authority`,
    /// `te`, `user-agent`, ...) are dropped before their value is decoded into a String.
    /// A repeated header: the last value wins; metadata keeps every value, in order.
    mutating func add(token: HeaderToken, name: () -> String, value: () -> String) {
        switch token {
        case .path: path = value()
        case .method: method = value()
        case .contentType: contentType = value()
        case .grpcEncoding: encoding = value()
        case .grpcAcceptEncoding: acceptEncoding = value()
        case .grpcTimeout: timeout = value()
        case .reserved: return
        case .other:
            let name = name()
            if Metadata.isReserved(name) { return }
            if name.hasSuffix("-bin") {
                guard let bytes = Base64.decode(value()) else { return }
                metadata.addBinary(bytes, lowercasedKey: name)
            } else {
                metadata.addString(value(), lowercasedKey: name)
            }
        }
    }
}
