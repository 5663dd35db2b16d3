// The benchmark's counting subscriber (`--receive counting`, the default): one raw HTTP/2
// connection carrying many server-streaming gRPC calls, which reads only what the benchmark
// counts, so that updates/s measures the server and not this client (docs/BENCHMARKS.md
// "Serving"). Still real HTTP/2 frames over a real socket, but no HPACK decoder, no task or
// AsyncSequence per call, no array or copy per message or frame: each read's bytes are walked in
// place, a DATA payload split as it arrives (whole or not) by gRPC's 5-byte length prefixes, and of
// each message only its sequence and cause are read, from its first `headLimit` bytes (a
// PredictionUpdate's session id, sequence and cause come first), where they lie when whole in the
// read, else gathered across reads.
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
    /// `.updates`: each update's sequence and arrival time (after the initial one), filled in by
    /// `results(on:)` from the connection's arrival log.
    var sequences: [Int64] = [], times: [Double] = []
    var initialSeen = false
    /// Message bytes received (without the 5-byte prefixes; `.updates`: but the initial one's).
    var bytes = 0

    // The message being read: prefix bytes seen (0–5), its length, bytes still to come, its head.
    fileprivate var prefixSeen = 0, length = 0, remaining = 0
    fileprivate var head: [UInt8] = []
    /// Its sequence and cause, when its head was whole in one read and parsed there.
    fileprivate var headParsed: (Int64, Int32)?
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
    private var streams: [Int32] = []
    private var nextStreamID = 1
    /// Calls not opened yet (the server's SETTINGS_MAX_CONCURRENT_STREAMS), next first; and
    /// how many are open. Calls are opened once the server's first SETTINGS arrived.
    private var waiting: [Int] = [], opened = 0, maxOpen = Int.max
    private var headerBlock: [UInt8] = []
    /// Called on the loop after each read with (initial updates, other messages) counted in it.
    let progress: @Sendable (Int, Int) -> Void
    /// `.updates`: every update's call, sequence and arrival time, in arrival order, for the whole
    /// connection (one array whose end stays in cache, where 100 calls' arrays each cost a miss).
    private var arrivals: [Arrival] = []
    struct Arrival {
        var sequence: Int64, time: Double, call: Int32
    }
    private var connectionConsumed = 0
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant, isUpdates: Bool
    // The frame being read: its header's fields, payload bytes still to come, and its call (−1: none).
    private var frameLeft = 0, frameType: UInt8 = 0, frameFlags: UInt8 = 0, frameStream = 0, frameCall = -1
    private var inFrame = false, framePadded = false
    /// A frame header cut by a read's end; a payload that is not DATA's (or padded DATA's).
    private var headerCarry: [UInt8] = [], frameCarry: [UInt8] = []
    // Per read: its arrival time (seconds since `origin`) and what it counted.
    private var nowSeconds = 0.0, initials = 0, counted = 0

    init(path: String, authority: String, requests: [[UInt8]], mode: Mode, progress: @escaping @Sendable (Int, Int) -> Void) {
        self.path = path
        self.authority = authority
        self.requests = requests
        self.mode = mode
        if case .updates(let origin) = mode { (self.origin, isUpdates) = (origin, true) } else { (origin, isUpdates) = (ContinuousClock().now, false) }
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
        while streams.count <= stream >> 1 { streams.append(-1) }
        streams[stream >> 1] = Int32(i)
        Self.frameHead(&out, length: headerBlock.count, type: 1, flags: 0x4, stream: UInt32(stream))  // HEADERS, END_HEADERS
        out.writeBytes(headerBlock)
        let request = requests[i]
        Self.frameHead(&out, length: 5 + request.count, type: 0, flags: 0x1, stream: UInt32(stream))  // DATA, END_STREAM
        out.writeInteger(UInt8(0)); out.writeInteger(UInt32(request.count))
        out.writeBytes(request)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        var replies: ByteBuffer?
        initials = 0
        counted = 0
        nowSeconds = (clock.now - origin).seconds
        // The read is walked in place (NIO's pooled receive buffer stays unshared, so it is
        // reused): a DATA payload is split as it arrives, whole or not; only a frame header cut
        // by the read's end (< 9 bytes) and the payload of a frame that is not DATA are carried.
        let view = bytes.readableBytesView
        var at = view.startIndex
        let end = view.endIndex
        while at < end {
            if frameLeft == 0 && !inFrame {  // a frame header
                let need = 9 - headerCarry.count
                if headerCarry.isEmpty && end - at >= 9 {
                    beginFrame(view, at, context, &replies)
                    at += 9
                } else {
                    let n = min(need, end - at)
                    headerCarry.append(contentsOf: view[at..<at + n])
                    at += n
                    guard headerCarry.count == 9 else { break }
                    beginFrame(headerCarry, headerCarry.startIndex, context, &replies)
                    headerCarry.removeAll(keepingCapacity: true)
                }
                if frameLeft == 0 { endFrame(context, &replies) }
                continue
            }
            let n = min(frameLeft, end - at)
            if frameType == 0 && !framePadded {  // DATA: split in place
                connectionConsumed += n
                if frameCall >= 0 { splitData(call: frameCall, view, from: at, to: at + n) }
            } else {
                frameCarry.append(contentsOf: view[at..<at + n])
            }
            at += n
            frameLeft -= n
            if frameLeft == 0 { endFrame(context, &replies) }
        }
        if connectionConsumed >= 64 << 20 {
            if replies == nil { replies = context.channel.allocator.buffer(capacity: 16) }
            Self.windowUpdate(&replies!, stream: 0, increment: UInt32(connectionConsumed))
            connectionConsumed = 0
        }
        if let replies { context.writeAndFlush(wrapOutboundOut(replies), promise: nil) }
        if initials + counted > 0 { progress(initials, counted) }
    }

    /// Reads the 9-byte frame header at `at` of `bytes` and starts that frame.
    private func beginFrame<C: RandomAccessCollection>(_ bytes: C, _ at: C.Index, _ context: ChannelHandlerContext,
                                                       _ replies: inout ByteBuffer?) where C.Element == UInt8, C.Index == Int {
        frameLeft = Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
        frameType = bytes[at + 3]
        frameFlags = bytes[at + 4]
        frameStream = Int(bytes[at + 5] & 0x7f) << 24 | Int(bytes[at + 6]) << 16 | Int(bytes[at + 7]) << 8 | Int(bytes[at + 8])
        framePadded = frameType == 0 && frameFlags & 0x8 != 0
        frameCall = index(frameStream) ?? -1
        frameCarry.removeAll(keepingCapacity: true)
        inFrame = true
    }

    /// The current frame's payload has all arrived (DATA: been split; others: in `frameCarry`).
    private func endFrame(_ context: ChannelHandlerContext, _ replies: inout ByteBuffer?) {
        inFrame = false
        let length = frameCarry.count
        switch frameType {
        case 0:  // DATA
            if framePadded {  // rare: the whole payload was carried; split what the padding leaves
                connectionConsumed += length
                if frameCall >= 0, length > 0 {
                    let pad = Int(frameCarry[0])
                    if 1 + pad <= length { splitData(call: frameCall, frameCarry, from: 1, to: length - pad) }
                }
            }
            if frameCall >= 0, frameFlags & 0x1 != 0 { ended(frameCall, into: &replies, context) }
        case 1:  // HEADERS (response headers or trailers; not decoded)
            if frameFlags & 0x1 != 0, frameCall >= 0 { ended(frameCall, into: &replies, context) }
        case 3:  // RST_STREAM
            guard frameCall >= 0 else { break }
            let i = frameCall
            let code = length >= 4 ? UInt32(frameCarry[0]) << 24 | UInt32(frameCarry[1]) << 16 | UInt32(frameCarry[2]) << 8 | UInt32(frameCarry[3]) : 0
            forget(frameStream)
            if code == 7, calls[i].messages == 0, calls[i].prefixSeen == 0 {
                // REFUSED_STREAM: not processed (RFC 9113 §8.7), so opened again later.
                opened -= 1
                waiting.append(i)
            } else {
                calls[i].reset = true
                calls[i].resetCode = code
                ended(i, into: &replies, context)
            }
        case 4 where frameFlags & 0x1 == 0:  // SETTINGS: acknowledge; the first one opens the calls
            if replies == nil { replies = context.channel.allocator.buffer(capacity: 4096) }
            Self.frameHead(&replies!, length: 0, type: 4, flags: 0x1, stream: 0)
            for at in stride(from: 0, to: length - 5, by: 6)
            where UInt16(frameCarry[at]) << 8 | UInt16(frameCarry[at + 1]) == 3 {  // MAX_CONCURRENT_STREAMS
                maxOpen = Int(UInt32(frameCarry[at + 2]) << 24 | UInt32(frameCarry[at + 3]) << 16 | UInt32(frameCarry[at + 4]) << 8 | UInt32(frameCarry[at + 5]))
            }
            openWaiting(into: &replies!)
        case 6 where frameFlags & 0x1 == 0 && length == 8:  // PING: answer
            if replies == nil { replies = context.channel.allocator.buffer(capacity: 64) }
            Self.frameHead(&replies!, length: 8, type: 6, flags: 0x1, stream: 0)
            replies!.writeBytes(frameCarry)
        default:
            break
        }
    }

    /// The call open on `stream` (client streams are odd: slot `stream / 2`).
    private func index(_ stream: Int) -> Int? {
        let slot = stream >> 1
        guard stream & 1 == 1, slot < streams.count, streams[slot] >= 0 else { return nil }
        return Int(streams[slot])
    }

    private func forget(_ stream: Int) {
        if stream & 1 == 1, stream >> 1 < streams.count { streams[stream >> 1] = -1 }
    }

    /// Splits DATA bytes `first..<end` of `bytes` (call `i`'s) into gRPC messages. A message's
    /// head is parsed where it lies when it is whole in `bytes`, else gathered in `head`. The
    /// call's record is moved out for the walk and back after it: a field written through
    /// `calls[i]` costs a uniqueness and an exclusivity check each time.
    private func splitData<C: RandomAccessCollection>(call i: Int, _ bytes: C, from first: Int, to end: Int)
    where C.Element == UInt8, C.Index == Int {
        var call = CountedCall()
        swap(&call, &calls[i])
        var log: [Arrival] = []
        swap(&log, &arrivals)
        var newInitials = 0, newCounted = 0
        let now = nowSeconds
        defer {
            swap(&call, &calls[i])
            swap(&log, &arrivals)
            initials += newInitials
            counted += newCounted
        }
        var at = first
        while at < end {
            if call.prefixSeen == 0, end - at >= 5 {  // the whole prefix here
                let length = Int(bytes[at + 1]) << 24 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 8 | Int(bytes[at + 4])
                at += 5
                call.prefixSeen = 5
                call.length = length
                call.remaining = length
                call.head.removeAll(keepingCapacity: true)
                let headLength = min(length, Self.headLimit)
                if end - at >= headLength {  // its head too: parsed in place
                    call.headParsed = Self.sequenceAndCause(bytes[at..<at + headLength])
                }
            } else if call.prefixSeen < 5 {
                let b = Int(bytes[at])
                at += 1
                call.prefixSeen += 1
                if call.prefixSeen > 1 { call.length = call.length << 8 | b }
                if call.prefixSeen == 5 {
                    call.remaining = call.length
                    call.head.removeAll(keepingCapacity: true)
                }
            }
            if call.prefixSeen == 5, call.remaining > 0 {
                let n = min(call.remaining, end - at)
                if call.headParsed == nil {
                    let keep = min(n, Self.headLimit - call.head.count)
                    if keep > 0 { call.head.append(contentsOf: bytes[at..<at + keep]) }
                }
                at += n
                call.remaining -= n
            }
            if call.prefixSeen == 5, call.remaining == 0 {
                if Self.message(&call, Int32(i), isUpdates: isUpdates, at: now, into: &log) { newInitials += 1 } else { newCounted += 1 }
                call.prefixSeen = 0
                call.length = 0
                call.headParsed = nil
            }
        }
    }

    /// One whole message of `call`, arrived at `now`; true when it was a subscription's INITIAL update.
    private static func message(_ call: inout CountedCall, _ i: Int32, isUpdates: Bool, at now: Double,
                                into log: inout [Arrival]) -> Bool {
        call.messages += 1
        guard isUpdates else {
            call.bytes += call.length
            return false
        }
        let (sequence, cause) = call.headParsed ?? Self.sequenceAndCause(call.head)
        if cause == 1 && !call.initialSeen {  // UPDATE_CAUSE_INITIAL
            call.initialSeen = true
            return true
        }
        call.bytes += call.length
        log.append(Arrival(sequence: sequence, time: now, call: i))
        return false
    }

    /// Fields 2 (sequence) and 3 (cause) of a PredictionUpdate's first bytes; stops at the
    /// first field it cannot skip within them.
    static func sequenceAndCause<C: RandomAccessCollection>(_ head: C) -> (Int64, Int32) where C.Element == UInt8, C.Index == Int {
        var i = head.startIndex, sequence: Int64 = 0, cause: Int32 = 0
        let end = head.endIndex
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < end, shift < 64 {
                let b = head[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        while i < end, let key = varint() {
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
        let at = inbound.readerIndex
        // Read as integers (no array per frame).
        guard inbound.readableBytes >= 9, let high = inbound.getInteger(at: at, as: UInt8.self),
              let low = inbound.getInteger(at: at + 1, as: UInt16.self),
              let type = inbound.getInteger(at: at + 3, as: UInt8.self), let flags = inbound.getInteger(at: at + 4, as: UInt8.self),
              let stream = inbound.getInteger(at: at + 5, as: UInt32.self) else { return nil }
        let length = Int(high) << 16 | Int(low)
        guard inbound.readableBytes >= 9 + length else { return nil }
        inbound.moveReaderIndex(forwardBy: 9)
        return (length, type, flags, Int(stream & 0x7fff_ffff))
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
            // Reads of up to 256 KiB (NIO's default stops at 64 KiB): a coalesced write of the
            // server's is taken in fewer reads. The handler keeps no reference to a read's buffer,
            // so NIO's pool hands the same (cache-warm) one back next time.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65_536, maximum: 262_144))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port).get()
        return (handler, channel)
    }

    /// The calls' records, read on the connection's loop.
    func results(on channel: any Channel) async throws -> [CountedCall] {
        try await channel.eventLoop.submit {
            var calls = self.calls
            for a in self.arrivals {
                calls[Int(a.call)].sequences.append(a.sequence)
                calls[Int(a.call)].times.append(a.time)
            }
            return calls
        }.get()
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
