import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Tracing

/// Sends finished spans to an OpenTelemetry collector over OTLP/HTTP with JSON encoding
/// (`POST /v1/traces`, `Content-Type: application/json`).
///
/// Spans wait in a bounded queue: `enqueue` never blocks and never grows memory past
/// `maxQueueSize` — a span that finds the queue full is dropped and counted
/// (`kato_otlp_spans_dropped_total{reason="queue_full"}`). Batches of up to `maxBatchSize`
/// spans leave every `flushInterval`, as soon as a full batch waits, and on `shutdown()`.
/// One request is in flight at a time; a failed one (connection refused, timeout, non-2xx)
/// drops its batch (`reason="export_failed"`) and logs at most one warning per 30 s. Nothing
/// here can fail or slow a call.
public final class OTLPExporter: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: Endpoint
        /// The `service.name` resource attribute.
        public var serviceName = "kato-server"
        public var maxQueueSize = 2048
        public var maxBatchSize = 512
        public var flushInterval: Duration = .seconds(2)
        /// Connect plus request time allowed for one export.
        public var timeout: Duration = .seconds(5)
        /// Extra request headers (e.g. a collector's API key): sent with every export, never logged.
        public var headers: [(name: String, value: String)] = []
        /// PEM file of the CA that signs an https collector's certificate (default: the
        /// system's trust roots).
        public var trustRootsFile: String?

        public init(endpoint: Endpoint) {
            self.endpoint = endpoint
        }
    }

    /// Where spans go: `http(s)://host[:port]` posts to `/v1/traces`; a URL with a path posts
    /// there. The port defaults to 4318 (OTLP/HTTP's) for http and 443 for https.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var path: String
        /// https: the collector's certificate is verified (chain and host name).
        public var usesTLS: Bool

        public struct Invalid: Error, CustomStringConvertible {
            public var description: String
        }

        public init(url: String) throws(Invalid) {
            let scheme: String
            if url.hasPrefix("http://") {
                scheme = "http://"
            } else if url.hasPrefix("https://") {
                scheme = "https://"
            } else {
                throw Invalid(description: "OTLP endpoint must be an http:// or https:// URL (got '\(url)')")
            }
            usesTLS = scheme == "https://"
            let rest = url.dropFirst(scheme.count)
            let authority = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(authority.count)
            var host = Substring(authority), port = usesTLS ? 443 : 4318
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {  // [::1]:4318
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()) else { throw Invalid(description: "bad port in OTLP endpoint '\(url)'") }
                    port = p
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                guard let p = Int(authority[authority.index(after: colon)...]) else {
                    throw Invalid(description: "bad port in OTLP endpoint '\(url)'")
                }
                port = p
            }
            guard !host.isEmpty, (1...65535).contains(port) else { throw Invalid(description: "bad OTLP endpoint '\(url)'") }
            self.host = String(host)
            self.port = port
            self.path = path.isEmpty || path == "/" ? "/v1/traces" : String(path)
        }

        public var description: String {
            "\(usesTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
        }
    }

    struct State {
        var queue: [OTLPSpanData] = []
        var sending = false
        var stopped = false
        var timer: RepeatedTask?
        var failuresSinceLog = 0
        var lastFailureLog: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    let logger: Logger
    let loop: any EventLoop
    let resource: OTLPJSON.Resource
    let state = Mutex(State())
    let droppedQueueFull = Counter(label: "kato_otlp_spans_dropped_total", dimensions: [("reason", "queue_full")])
    let droppedFailed = Counter(label: "kato_otlp_spans_dropped_total", dimensions: [("reason", "export_failed")])
    let exported = Counter(label: "kato_otlp_spans_exported_total")

    /// For an https endpoint: the client TLS context (verifies the collector's chain and name).
    let tls: NIOSSLContext?

    /// Throws when an https endpoint's TLS context cannot be made (e.g. an unreadable CA file).
    public init(configuration: Configuration, logger: Logger, eventLoop: (any EventLoop)? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        loop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        resource = OTLPJSON.Resource(serviceName: configuration.serviceName)
        if configuration.endpoint.usesTLS {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let file = configuration.trustRootsFile {
                tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            tls = nil
        }
    }

    /// Starts the flush timer.
    public func start() {
        let interval = TimeAmount.nanoseconds(Int64(configuration.flushInterval.components.seconds) * 1_000_000_000
            + configuration.flushInterval.components.attoseconds / 1_000_000_000)
        let timer = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.flush()
        }
        state.withLock { $0.timer = timer }
    }

    /// Queues a finished span; drops (and counts) it when the queue is full. Never blocks.
    public func enqueue(_ span: OTLPSpanData) {
        let maxQueue = configuration.maxQueueSize, maxBatch = configuration.maxBatchSize
        let (accepted, wake) = state.withLock { s -> (Bool, Bool) in
            guard !s.stopped, s.queue.count < maxQueue else { return (false, false) }
            s.queue.append(span)
            return (true, s.queue.count == maxBatch && !s.sending)
        }
        if !accepted {
            droppedQueueFull.increment()
        } else if wake {
            flushSoon()
        }
    }

    /// Sends what is queued without waiting for the timer.
    public func flushSoon() {
        loop.execute { [self] in flush() }
    }

    /// Number of spans waiting.
    public var queuedCount: Int { state.withLock { $0.queue.count } }

    /// Stops the timer, lets a running export finish, and sends everything queued (giving up at
    /// the first failure); spans ended afterwards are dropped.
    public func shutdown() async {
        let timer = state.withLock { s in
            s.stopped = true
            defer { s.timer = nil }
            return s.timer
        }
        timer?.cancel()
        let deadline = ContinuousClock.now + configuration.timeout + .seconds(1)
        while true {
            // A flush that was running when the shutdown began finishes first.
            let (empty, sending) = state.withLock { ($0.queue.isEmpty, $0.sending) }
            if empty { break }
            if sending {
                guard ContinuousClock.now < deadline else { break }
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            let promise = loop.makePromise(of: Bool.self)
            loop.execute { [self] in
                if let batch = takeBatch() {
                    send(batch).whenComplete { promise.succeed((try? $0.get()) ?? false) }
                } else {
                    promise.succeed(true)  // emptied, or another flush began: look again
                }
            }
            guard (try? await promise.futureResult.get()) == true else { break }
        }
        let left = state.withLock { s in
            defer { s.queue = [] }
            return s.queue.count
        }
        if left > 0 { droppedFailed.increment(by: Int64(left)) }
    }

    /// On the loop: sends one batch unless a request is in flight; chains the next full batch.
    func flush() {
        guard let batch = takeBatch() else { return }
        send(batch).whenComplete { [self] _ in
            let more = state.withLock { $0.queue.count >= configuration.maxBatchSize }
            if more { flush() }
        }
    }

    /// Takes up to `maxBatchSize` spans and marks a request in flight; nil when there is
    /// nothing to send or a request is already in flight.
    func takeBatch() -> [OTLPSpanData]? {
        state.withLock { s in
            guard !s.sending, !s.queue.isEmpty else { return nil }
            let n = min(s.queue.count, configuration.maxBatchSize)
            let batch = Array(s.queue.prefix(n))
            s.queue.removeFirst(n)
            s.sending = true
            return batch
        }
    }

    /// POSTs `batch`; the future says whether the collector accepted it (never fails).
    func send(_ batch: [OTLPSpanData]) -> EventLoopFuture<Bool> {
        let body = OTLPJSON.exportRequest(batch, resource: resource)
        return post(body).map { status -> Bool in
            guard (200..<300).contains(status) else {
                self.failed(batch.count, "HTTP status \(status)")
                return false
            }
            self.exported.increment(by: Int64(batch.count))
            return true
        }.recover { error in
            self.failed(batch.count, "\(error)")
            return false
        }.always { _ in
            self.state.withLock { $0.sending = false }
        }
    }

    func failed(_ count: Int, _ reason: String) {
        droppedFailed.increment(by: Int64(count))
        let now = ContinuousClock.now
        let report: Int? = state.withLock { s in
            s.failuresSinceLog += 1
            if let last = s.lastFailureLog, now - last < .seconds(30) { return nil }
            s.lastFailureLog = now
            defer { s.failuresSinceLog = 0 }
            return s.failuresSinceLog
        }
        if let failures = report {
            logger.warning("OTLP span export failed; the batch is dropped (logged at most every 30 s)", metadata: [
                "endpoint": "\(configuration.endpoint)", "error": "\(reason)", "spans": "\(count)", "failures": "\(failures)",
            ])
        }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    /// One HTTP/1.1 POST on a new connection; the response status.
    func post(_ body: String) -> EventLoopFuture<Int> {
        let endpoint = configuration.endpoint
        let promise = loop.makePromise(of: Int.self)
        let nanos = Int64(configuration.timeout.components.seconds) * 1_000_000_000
            + configuration.timeout.components.attoseconds / 1_000_000_000
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.path)
        let hostHeader = endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
        head.headers = [
            "Host": hostHeader, "Content-Type": "application/json", "Content-Length": "\(body.utf8.count)",
            "Connection": "close", "User-Agent": "kato-server",
        ]
        for (name, value) in configuration.headers { head.headers.add(name: name, value: value) }
        let request = head
        let tls = self.tls
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(nanos))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // An IP literal is checked against the certificate's IP SANs, not sent as SNI.
                        let isIP = (try? SocketAddress(ipAddress: endpoint.host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : endpoint.host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(OTLPResponseHandler(request: request, body: body, promise: promise))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                        promise.fail(TimedOut())
                        channel.close(promise: nil)
                    }
                    promise.futureResult.whenComplete { _ in
                        timeout.cancel()
                        channel.close(promise: nil)
                    }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        return promise.futureResult
    }
}

/// Writes the request when the connection is up; completes with the response status once the
/// response has been read (or fails when the connection ends first).
final class OTLPResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let request: HTTPRequestHead
    let body: String
    let promise: EventLoopPromise<Int>
    var status: Int?
    var done = false

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "connection closed before the response" }
    }

    init(request: HTTPRequestHead, body: String, promise: EventLoopPromise<Int>) {
        self.request = request
        self.body = body
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end: complete(.success(status ?? 0))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(ConnectionClosed()))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }

    private func complete(_ result: Result<Int, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}

extension OTLPTracer {
    /// Makes `OTLPTracer(exporter:)` the process's tracer (`InstrumentationSystem`, once per
    /// process, before the server's interceptors are made) and starts the exporter's timer.
    public static func bootstrap(_ exporter: OTLPExporter) {
        InstrumentationSystem.bootstrap(OTLPTracer(exporter: exporter))
        exporter.start()
    }
}
