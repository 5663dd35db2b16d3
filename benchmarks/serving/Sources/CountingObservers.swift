// The benchmark's raw observers (`fanout --observe counting`, the default): the Observe and
// ClearSTM calls that drive the fan-out, as unary gRPC calls on a raw HTTP/2 connection over NIO
// (in the spirit of CountingConnection), so that the driver costs next to nothing per call and the
// machine's two cores go to the server. Through GRPCClient (`--observe grpc`) the 64 observer
// loops cost ≈ 5 µs of client CPU per delivered update (one call per 10 updates: a task resumed
// per reply, HPACK via nghttp2, a continuation per call), i.e. most of the client.
//
// Each connection runs its observers as state machines on its event loop: a reply (a response
// message, then END_STREAM) records the time and opens the observer's next call in the same
// read, so several calls are in flight per connection with no task, no continuation and no
// array per call. Requests carry the headers GRPCClient sends (grpc-timeout 60S included, so the
// server arms the same deadline per call), HPACK-encoded with incremental indexing: after a
// connection's first calls a request's header block is a few index bytes, as from a real
// encoder. A call that ends without a response message (an error status: trailers-only) counts
// as failed; response headers and trailers are not decoded.
import NIOCore
import NIOPosix

/// One observer: sessions it cycles through (Observe, Observe, Observe, ClearSTM per session,
/// a pass over all of them per step), the reply times per session, calls that failed.
struct CountingObserver {
    let sessions: [Int]
    var times: [[Double]]
    var failed = 0
    fileprivate var j = 0, op = 0, done = false

    init(sessions: [Int]) {
        self.sessions = sessions
        self.times = Array(repeating: [], count: sessions.count)
    }
}

/// One connection's observers. Lives on its channel's event loop only (`@unchecked Sendable`
/// so the bootstrap can install it; results are read with `eventLoop.submit`).
final class ObservingConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The call for (session, op): its method path and request message bytes.
    typealias Request = @Sendable (_ session: Int, _ op: Int) -> (path: String, message: [UInt8])

    var observers: [CountingObserver]
    private let request: Request
    private let authority: String
    private let origin: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant
    private let finished: EventLoopPromise<Void>
    private let clock = ContinuousClock()
    private var encoder = HPACKIndexingEncoder()
    /// Open calls: stream id → (observer, whether its response message arrived).
    private var streams: [Int: (observer: Int, replied: Bool)] = [:]
    private var nextStreamID = 1
    /// Observers waiting for a stream slot or send window; calls open once the server's first
    /// SETTINGS arrived.
    private var waiting: [Int] = [], maxOpen = 0, sendWindow = 65_535
    private var running: Int
    private var inbound: ByteBuffer?
    private var connectionConsumed = 0

    init(observers: [CountingObserver], authority: String, origin: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
         finished: EventLoopPromise<Void>, request: @escaping Request) {
        self.observers = observers
        self.authority = authority
        self.origin = origin
        self.deadline = deadline
        self.finished = finished
        self.request = request
        self.running = observers.count
        self.waiting = Array(observers.indices.reversed())
    }

    /// Preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31−1) and the connection window.
    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 64)
        out.writeString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        CountingConnection.frameHead(&out, length: 12, type: 4, flags: 0, stream: 0)
        out.writeInteger(UInt16(2)); out.writeInteger(UInt32(0))
        out.writeInteger(UInt16(4)); out.writeInteger(UInt32(Int32.max))
        CountingConnection.windowUpdate(&out, stream: 0, increment: UInt32(Int32.max) - 65_535)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        if observers.isEmpty { finished.succeed() }
    }

    /// Opens the waiting observers' next calls while the server allows more streams.
    private func openWaiting(into out: inout ByteBuffer) {
        while streams.count < maxOpen, let o = waiting.last {
            let observer = observers[o]
            let (path, message) = request(observer.sessions[observer.j], observer.op)
            guard sendWindow >= 5 + message.count else { return }
            waiting.removeLast()
            sendWindow -= 5 + message.count
            let stream = nextStreamID
            nextStreamID += 2
            streams[stream] = (o, false)
            let block = encoder.encode([(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority),
                                        ("content-type", "application/grpc"), ("te", "trailers"),
                                        ("grpc-accept-encoding", "identity,gzip"), ("user-agent", "grpch2-swift/1.0"),
                                        ("grpc-timeout", "60S")])
            CountingConnection.frameHead(&out, length: block.count, type: 1, flags: 0x4, stream: UInt32(stream))  // HEADERS, END_HEADERS
            out.writeBytes(block)
            CountingConnection.frameHead(&out, length: 5 + message.count, type: 0, flags: 0x1, stream: UInt32(stream))  // DATA, END_STREAM
            out.writeInteger(UInt8(0)); out.writeInteger(UInt32(message.count))
            out.writeBytes(message)
        }
    }

    /// The call on `stream` ended: the observer records the reply time and goes on (or stops
    /// after a whole pass once the deadline passed, as the GRPCClient observers do).
    private func ended(stream: Int, at now: Double, past: Bool) {
        guard let (o, replied) = streams.removeValue(forKey: stream) else { return }
        if !replied { observers[o].failed += 1 }
        observers[o].times[observers[o].j].append(now)
        observers[o].j += 1
        if observers[o].j == observers[o].sessions.count {
            observers[o].j = 0
            observers[o].op += 1
            if past {
                observers[o].done = true
                running -= 1
                if running == 0 { finished.succeed() }
                return
            }
        }
        waiting.insert(o, at: 0)  // behind any observer already waiting
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        let instant = clock.now
        let now = (instant - origin).seconds, past = instant >= deadline
        var out = context.channel.allocator.buffer(capacity: 1024)
        while let (length, type, flags, stream) = CountingConnection.nextFrame(&inbound!) {
            let start = inbound!.readerIndex
            switch type {
            case 0:  // DATA: the reply (a few dozen bytes: whole messages; any byte counts as one)
                connectionConsumed += length
                if length > 0, streams[stream] != nil { streams[stream]!.replied = true }
                if flags & 0x1 != 0 { ended(stream: stream, at: now, past: past) }
            case 1:  // HEADERS: response headers, or trailers (END_STREAM)
                if flags & 0x1 != 0 { ended(stream: stream, at: now, past: past) }
            case 3:  // RST_STREAM
                ended(stream: stream, at: now, past: past)
            case 4 where flags & 0x1 == 0:  // SETTINGS: acknowledge; MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE
                CountingConnection.frameHead(&out, length: 0, type: 4, flags: 0x1, stream: 0)
                if maxOpen == 0 { maxOpen = Int.max }
                for at in stride(from: start, to: start + length - 5, by: 6) {
                    let id = inbound!.getInteger(at: at, as: UInt16.self)!, value = inbound!.getInteger(at: at + 2, as: UInt32.self)!
                    if id == 3 { maxOpen = Int(value) }
                }
            case 6 where flags & 0x1 == 0:  // PING: answer
                CountingConnection.frameHead(&out, length: 8, type: 6, flags: 0x1, stream: 0)
                out.writeBytes(inbound!.getBytes(at: start, length: 8) ?? [])
            case 8 where stream == 0:  // WINDOW_UPDATE of the connection (requests fit any stream's window)
                sendWindow += Int(inbound!.getInteger(at: start, as: UInt32.self)! & 0x7fff_ffff)
            default:
                break
            }
            inbound!.moveReaderIndex(to: start + length)
        }
        if inbound!.readableBytes == 0 { inbound = nil } else { inbound!.discardReadBytes() }
        if connectionConsumed >= 16 << 20 {
            CountingConnection.windowUpdate(&out, stream: 0, increment: UInt32(connectionConsumed))
            connectionConsumed = 0
        }
        openWaiting(into: &out)
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if running > 0 { finished.fail(ChannelError.eof) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// HPACK (RFC 7541) for a client that sends the same few header fields over and over: a field
/// already in the dynamic table is its index; any other is a literal with incremental indexing
/// (so it is an index from then on). Strings are raw (no Huffman). The table stays far below the
/// server's 4,096 bytes (the benchmark's fields fit several times over), so nothing is evicted.
struct HPACKIndexingEncoder {
    /// Dynamic table, newest first (index 62 + position).
    private var table: [(String, String)] = []
    private var size = 0

    mutating func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields {
            if let at = table.firstIndex(where: { $0 == (name, value) }) {
                Self.integer(62 + at, prefix: 7, flags: 0x80, into: &out)
                continue
            }
            size += name.utf8.count + value.utf8.count + 32
            precondition(size <= 4096, "HPACKIndexingEncoder: more distinct header fields than the table holds")
            table.insert((name, value), at: 0)
            out.append(0x40)  // literal with incremental indexing, new name
            for s in [name, value] {
                Self.integer(s.utf8.count, prefix: 7, flags: 0, into: &out)
                out += Array(s.utf8)
            }
        }
        return out
    }

    static func integer(_ value: Int, prefix: Int, flags: UInt8, into out: inout [UInt8]) {
        let limit = (1 << prefix) - 1
        guard value >= limit else { out.append(flags | UInt8(value)); return }
        out.append(flags | UInt8(limit))
        var rest = value - limit
        while rest >= 128 { out.append(UInt8(rest & 0x7f) | 0x80); rest >>= 7 }
        out.append(UInt8(rest))
    }
}

/// The observers spread over `connections` observing connections (observer w on connection
/// w % connections, connection i on loop i % loops.count); `run` returns when every observer
/// finished its last pass after `deadline`.
struct CountingObservers: Sendable {
    let connections: [(handler: ObservingConnection, channel: any Channel, finished: EventLoopFuture<Void>)]
    let count: Int

    static func run(_ server: ServerOptions, loops: [any EventLoop], connections: Int, observers: [[Int]],
                    origin: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
                    request: @escaping ObservingConnection.Request) async throws -> CountingObservers {
        var opened: [(handler: ObservingConnection, channel: any Channel, finished: EventLoopFuture<Void>)] = []
        for c in 0..<connections {
            let loop = loops[c % loops.count]
            let mine = stride(from: c, to: observers.count, by: connections).map { CountingObserver(sessions: observers[$0]) }
            let finished = loop.makePromise(of: Void.self)
            let handler = ObservingConnection(observers: mine, authority: "\(server.host):\(server.port)", origin: origin,
                                              deadline: deadline, finished: finished, request: request)
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: server.host, port: server.port).get()
            opened.append((handler, channel, finished.futureResult))
        }
        for c in opened { try await c.finished.get() }
        return CountingObservers(connections: opened, count: observers.count)
    }

    /// Observer w's (sessions, reply times per session, failed calls), read on the loops.
    func results() async throws -> [CountingObserver] {
        var perConnection: [[CountingObserver]] = []
        for c in connections { perConnection.append(try await c.channel.eventLoop.submit { c.handler.observers }.get()) }
        return (0..<count).map { w in perConnection[w % connections.count][w / connections.count] }
    }

    func close() async {
        for c in connections { try? await c.channel.close() }
    }
}
