// The benchmark's counting subscriber (`--receive counting`, the default): one raw HTTP/2
// connection carrying many server-streaming gRPC calls, which reads only what the benchmark
// counts, so that updates/s measures the server and not this client (docs/BENCHMARKS.md
// "Serving"). Still real HTTP/2 frames over a real socket, but no HPACK decoder, no task or
// AsyncSequence per call, no array per message: a DATA frame's bytes are walked in place,
// gRPC's 5-byte length prefixes split them into messages, and of each message only its first
// `headLimit` bytes are kept (a PredictionUpdate's session id, sequence and cause come first).
// Requests go out as HPACK literals without indexing (as StuckSubscriber's); response headers
// are skipped (a call's end is its END_STREAM or RST_STREAM). Windows: 2^31−1 per stream,
// the connection's topped up as it is consumed.
import ArgumentParser
import NIOCore
import NIOPosix

/// What a counting connection records for each call (on its event loop).
struct CountedCall {
    var messages = 0
    /// Set when the call ended (trailers or RST_STREAM); `reset` for RST_STREAM.
    var ended = false, reset = false
    /// The RST_STREAM error code, when reset.
    var resetCode: UInt32 = 0
    /// `.updates`: each update's sequence and arrival time (after the initial one).
    var sequences: [Int64] = [], times: [Double] = []
    var initialSeen = false
    /// Message bytes received (without the 5-byte prefixes; `.updates`: but the initial one's).
    var bytes = 0

    // The message being read: prefix bytes seen (0–5), its length, bytes still to come, its head.
    fileprivate var prefixSeen = 0, length = 0, remaining = 0
    fileprivate var head: [UInt8] = []
}

/// One connection's calls. Lives on its channel's event loop only (`@unchecked Sendable` so the
/// bootstrap can install it; results are read with `eventLoop.submit` after the run).
final class CountingConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Mode {
        /// Count messages only (the streaming reference).
        case messages
        /// PredictionUpdates: sequence and arrival time of each (after the INITIAL one).
        case updates(origin: ContinuousClock.Instant)
    }

    static let headLimit = 128
    let mode: Mode
    let path: String, authority: String
    let requests: [[UInt8]]
    /// Calls by index; `streams` maps a stream id to its call (a refused call is opened again
    /// on a new stream).
    var calls: [CountedCall]
    private var streams: [Int: Int] = [:]
    private var nextStreamID = 1
    /// Calls not opened yet (the server's SETTINGS_MAX_CONCURRENT_STREAMS), next first; and
    /// how many are open. Calls are opened once the server's first SETTINGS arrived.
    private var waiting: [Int] = [], opened = 0, maxOpen = Int.max
    private var headerBlock: [UInt8] = []
    /// Called on the loop after each read with (initial updates, other messages) counted in it.
    let progress: @Sendable (Int, Int) -> Void
    private var inbound: ByteBuffer?
    private var connectionConsumed = 0
    private let clock = ContinuousClock()

    init(path: String, authority: String, requests: [[UInt8]], mode: Mode, progress: @escaping @Sendable (Int, Int) -> Void) {
        self.path = path
        self.authority = authority
        self.requests = requests
        self.mode = mode
        self.progress = progress
        self.calls = Array(repeating: CountedCall(), count: requests.count)
    }

    /// Opens every call at once: preface, SETTINGS, the connection window, then HEADERS + DATA
    /// (END_STREAM) per call, in one write.
    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 64 + requests.count * 256)
        out.writeString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        // SETTINGS: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31−1.
        Self.frameHead(&out, length: 12, type: 4, flags: 0, stream: 0)
        out.writeInteger(UInt16(2)); out.writeInteger(UInt32(0))
        out.writeInteger(UInt16(4)); out.writeInteger(UInt32(Int32.max))
        Self.windowUpdate(&out, stream: 0, increment: UInt32(Int32.max) - 65_535)
        for (name, value) in [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority),
                              ("content-type", "application/grpc"), ("te", "trailers")] {
            headerBlock.append(0)  // literal header field without indexing, new name
            for s in [name, value] {
                precondition(s.utf8.count < 127)
                headerBlock.append(UInt8(s.utf8.count))
                headerBlock += Array(s.utf8)
            }
        }
        waiting = Array(requests.indices.reversed())
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// Opens waiting calls while the server allows more streams.
    private func openWaiting(into out: inout ByteBuffer) {
        while opened < maxOpen, let i = waiting.popLast() { open(call: i, into: &out) }
    }

    /// Call `i`'s stream ended: its slot goes to a waiting call.
    private func ended(_ i: Int, into replies: inout ByteBuffer?, _ context: ChannelHandlerContext) {
        guard !calls[i].ended else { return }
        calls[i].ended = true
        opened -= 1
        guard !waiting.isEmpty else { return }
        if replies == nil { replies = context.channel.allocator.buffer(capacity: 4096) }
        openWaiting(into: &replies!)
    }

    /// HEADERS + DATA (END_STREAM) of call `i`, on the next stream id.
    private func open(call i: Int, into out: inout ByteBuffer) {
        opened += 1
        let stream = nextStreamID
        nextStreamID += 2
        streams[stream] = i
        Self.frameHead(&out, length: headerBlock.count, type: 1, flags: 0x4, stream: UInt32(stream))  // HEADERS, END_HEADERS
        out.writeBytes(headerBlock)
        let request = requests[i]
        Self.frameHead(&out, length: 5 + request.count, type: 0, flags: 0x1, stream: UInt32(stream))  // DATA, END_STREAM
        out.writeInteger(UInt8(0)); out.writeInteger(UInt32(request.count))
        out.writeBytes(request)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        var replies: ByteBuffer?
        var initials = 0, counted = 0
        let now = clock.now
        while let (length, type, flags, stream) = CountingConnection.nextFrame(&inbound!) {
            let start = inbound!.readerIndex
            switch type {
            case 0:  // DATA
                connectionConsumed += length
                var first = start, end = start + length
                if flags & 0x8 != 0, length > 0 {  // PADDED
                    let pad = Int(inbound!.getInteger(at: start, as: UInt8.self)!)
                    first += 1
                    end -= pad
                }
                if let i = index(stream) {
                    (initials, counted) = splitData(call: i, from: first, to: end, now: now, initials, counted)
                    if flags & 0x1 != 0 { ended(i, into: &replies, context) }
                }
            case 1:  // HEADERS (response headers or trailers; not decoded)
                if flags & 0x1 != 0, let i = index(stream) { ended(i, into: &replies, context) }
            case 3:  // RST_STREAM
                guard let i = index(stream) else { break }
                let code = inbound!.getInteger(at: start, as: UInt32.self) ?? 0
                streams[stream] = nil
                if code == 7, calls[i].messages == 0, calls[i].prefixSeen == 0 {
                    // REFUSED_STREAM: not processed (RFC 9113 §8.7), so opened again later.
                    opened -= 1
                    waiting.append(i)
                } else {
                    calls[i].reset = true
                    calls[i].resetCode = code
                    ended(i, into: &replies, context)
                }
            case 4 where flags & 0x1 == 0:  // SETTINGS: acknowledge; the first one opens the calls
                if replies == nil { replies = context.channel.allocator.buffer(capacity: 4096) }
                Self.frameHead(&replies!, length: 0, type: 4, flags: 0x1, stream: 0)
                for at in stride(from: start, to: start + length - 5, by: 6)
                where inbound!.getInteger(at: at, as: UInt16.self) == 3 {  // MAX_CONCURRENT_STREAMS
                    maxOpen = Int(inbound!.getInteger(at: at + 2, as: UInt32.self)!)
                }
                openWaiting(into: &replies!)
            case 6 where flags & 0x1 == 0:  // PING: answer
                if replies == nil { replies = context.channel.allocator.buffer(capacity: 64) }
                Self.frameHead(&replies!, length: 8, type: 6, flags: 0x1, stream: 0)
                replies!.writeBytes(inbound!.getBytes(at: start, length: 8) ?? [])
            default:
                break
            }
            inbound!.moveReaderIndex(to: start + length)
        }
        if inbound!.readableBytes == 0 { inbound = nil } else { inbound!.discardReadBytes() }
        if connectionConsumed >= 64 << 20 {
            if replies == nil { replies = context.channel.allocator.buffer(capacity: 16) }
            Self.windowUpdate(&replies!, stream: 0, increment: UInt32(connectionConsumed))
            connectionConsumed = 0
        }
        if let replies { context.writeAndFlush(wrapOutboundOut(replies), promise: nil) }
        if initials + counted > 0 { progress(initials, counted) }
    }

    private func index(_ stream: Int) -> Int? {
        streams[stream]
    }

    /// Splits DATA bytes `first..<end` of call `i` into gRPC messages.
    private func splitData(call i: Int, from first: Int, to end: Int, now: ContinuousClock.Instant,
                      _ initials: Int, _ counted: Int) -> (Int, Int) {
        var initials = initials, counted = counted
        var at = first
        let buffer = inbound!
        while at < end {
            if calls[i].prefixSeen < 5 {
                let b = Int(buffer.getInteger(at: at, as: UInt8.self)!)
                at += 1
                calls[i].prefixSeen += 1
                if calls[i].prefixSeen > 1 { calls[i].length = calls[i].length << 8 | b }
                if calls[i].prefixSeen == 5 {
                    calls[i].remaining = calls[i].length
                    calls[i].head.removeAll(keepingCapacity: true)
                }
            } else {
                let n = min(calls[i].remaining, end - at)
                let keep = min(n, Self.headLimit - calls[i].head.count)
                if keep > 0 { calls[i].head.append(contentsOf: buffer.viewBytes(at: at, length: keep)!) }
                at += n
                calls[i].remaining -= n
            }
            if calls[i].prefixSeen == 5, calls[i].remaining == 0 {
                if message(call: i, now: now) { initials += 1 } else { counted += 1 }
                calls[i].prefixSeen = 0
                calls[i].length = 0
            }
        }
        return (initials, counted)
    }

    /// One whole message of call `i`; true when it was a subscription's INITIAL update.
    private func message(call i: Int, now: ContinuousClock.Instant) -> Bool {
        calls[i].messages += 1
        guard case .updates(let origin) = mode else {
            calls[i].bytes += calls[i].length
            return false
        }
        let (sequence, cause) = Self.sequenceAndCause(calls[i].head)
        if cause == 1 && !calls[i].initialSeen {  // UPDATE_CAUSE_INITIAL
            calls[i].initialSeen = true
            return true
        }
        calls[i].bytes += calls[i].length
        calls[i].sequences.append(sequence)
        calls[i].times.append((now - origin).seconds)
        return false
    }

    /// Fields 2 (sequence) and 3 (cause) of a PredictionUpdate's first bytes; stops at the
    /// first field it cannot skip within them.
    static func sequenceAndCause(_ head: [UInt8]) -> (Int64, Int32) {
        var i = 0, sequence: Int64 = 0, cause: Int32 = 0
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < head.count, shift < 64 {
                let b = head[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        while i < head.count, let key = varint() {
            switch (key >> 3, key & 7) {
            case (2, 0): guard let v = varint() else { return (sequence, cause) }; sequence = Int64(bitPattern: v)
            case (3, 0): guard let v = varint() else { return (sequence, cause) }; cause = Int32(truncatingIfNeeded: v)
            case (_, 0): guard varint() != nil else { return (sequence, cause) }
            case (_, 2): guard let n = varint() else { return (sequence, cause) }; i += Int(n)
            default: return (sequence, cause)
            }
        }
        return (sequence, cause)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The next frame's header when the whole frame is in `inbound` (the reader index then at its
    /// payload, `length` bytes), nil while it is still arriving.
    static func nextFrame(_ inbound: inout ByteBuffer) -> (length: Int, type: UInt8, flags: UInt8, stream: Int)? {
        guard let header = inbound.getBytes(at: inbound.readerIndex, length: 9) else { return nil }
        let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
        guard inbound.readableBytes >= 9 + length else { return nil }
        let stream = Int(header[5] & 0x7f) << 24 | Int(header[6]) << 16 | Int(header[7]) << 8 | Int(header[8])
        inbound.moveReaderIndex(forwardBy: 9)
        return (length, header[3], header[4], stream)
    }

    static func frameHead(_ out: inout ByteBuffer, length: Int, type: UInt8, flags: UInt8, stream: UInt32) {
        out.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
        out.writeInteger(UInt16(truncatingIfNeeded: length))
        out.writeInteger(type)
        out.writeInteger(flags)
        out.writeInteger(stream)
    }

    static func windowUpdate(_ out: inout ByteBuffer, stream: UInt32, increment: UInt32) {
        frameHead(&out, length: 4, type: 8, flags: 0, stream: stream)
        out.writeInteger(increment)
    }
}

extension CountingConnection {
    /// Connects on `loop` and opens `requests.count` calls of `path` (see the type).
    static func start(host: String, port: Int, loop: any EventLoop, path: String, requests: [[UInt8]], mode: Mode,
                      progress: @escaping @Sendable (Int, Int) -> Void) async throws -> (CountingConnection, any Channel) {
        let handler = CountingConnection(path: path, authority: "\(host):\(port)", requests: requests, mode: mode, progress: progress)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port).get()
        return (handler, channel)
    }

    /// The calls' records, read on the connection's loop.
    func results(on channel: any Channel) async throws -> [CountedCall] {
        try await channel.eventLoop.submit { self.calls }.get()
    }
}

/// How the benchmark's subscribers receive (`--receive`).
enum ReceiveMode: String, ExpressibleByArgument, Sendable {
    case counting, lean, full
}

/// How the fan-out's observers call (`--observe`).
enum ObserveMode: String, ExpressibleByArgument, Sendable {
    case counting, grpc
}

/// `requests.count` calls spread over `connections` counting connections (call k on connection
/// k % connections, connection i on loop i % loops.count).
struct CountingSubscribers: Sendable {
    let connections: [(handler: CountingConnection, channel: any Channel)]

    static func start(_ server: ServerOptions, loops: [any EventLoop], connections: Int, path: String, requests: [[UInt8]],
                      mode: CountingConnection.Mode, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> CountingSubscribers {
        var opened: [(handler: CountingConnection, channel: any Channel)] = []
        for c in 0..<connections {
            let mine = Array(stride(from: c, to: requests.count, by: connections)).map { requests[$0] }
            opened.append(try await CountingConnection.start(host: server.host, port: server.port, loop: loops[c % loops.count],
                                                             path: path, requests: mine, mode: mode, progress: progress))
        }
        return CountingSubscribers(connections: opened)
    }

    /// Every call's record, by call index (as in `requests`).
    func results() async throws -> [CountedCall] {
        var perConnection: [[CountedCall]] = []
        for (handler, channel) in connections { perConnection.append(try await handler.results(on: channel)) }
        let total = perConnection.reduce(0) { $0 + $1.count }
        return (0..<total).map { k in perConnection[k % connections.count][k / connections.count] }
    }

    func close() async {
        for (_, channel) in connections { try? await channel.close() }
    }
}
