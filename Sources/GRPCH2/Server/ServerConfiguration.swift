import GRPCH2Core

/// Everything a `GRPCServer` can be told. Defaults follow gRPC C-core/grpc-go where they
/// exist and the measurements in docs/ARCHITECTURE.md where throughput depends on them.
public struct ServerConfiguration: Sendable, Hashable {
    /// Address to bind, e.g. `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one (see `GRPCServer.localAddress`).
    public var port: Int = 50051
    /// Largest request message accepted after decompression (RESOURCE_EXHAUSTED above). gRPC: 4 MiB.
    public var maxReceiveMessageSize: Int = 4 * 1024 * 1024
    /// Largest response message a handler may send (RESOURCE_EXHAUSTED above). gRPC: unlimited; 64 MiB here.
    public var maxSendMessageSize: Int = 64 * 1024 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS. 1000 keeps `h2load -m 64` and busy clients unthrottled.
    public var maxConcurrentStreams: UInt32 = 1000
    /// SETTINGS_INITIAL_WINDOW_SIZE per stream: 1 MiB (64 KiB, the RFC default, costs ~10x p99 at 64 streams).
    public var initialStreamWindow: UInt32 = 1 << 20
    /// Connection-level receive window: 16 MiB.
    public var connectionWindow: Int32 = 16 << 20
    /// Largest request header list (RFC 9113 §6.5.2: name + value + 32 bytes per field),
    /// advertised as SETTINGS_MAX_HEADER_LIST_SIZE and enforced per call: a request over it is
    /// answered Trailers-Only RESOURCE_EXHAUSTED and the connection serves on. 16 KiB, as gRPC
    /// C-core's hard limit. (A header name or value over 64 KiB is a connection error whatever
    /// this says: nghttp2's HPACK decoder limit; see docs/ARCHITECTURE.md "Limits".)
    public var maxHeaderListSize: UInt32 = 16 * 1024
    /// Bytes a streaming handler may queue for one slow reader before `write` suspends.
    public var maxBufferedResponseBytes: Int = 1 << 20
    /// Bytes a push source (`ResponsePusher`, e.g. a subscription's mailbox) may have queued in
    /// its stream before it is parked (capped by `maxBufferedResponseBytes`). A push source drops
    /// its own way (newest wins), so a reader that stops costs the server this plus the source's
    /// backlog: 10,000 stuck subscribers hold ≤ 640 MiB of stream buffers at 64 KiB, not 10 GiB.
    /// A reading stream rarely queues more than a few updates between two flushes.
    public var maxBufferedPushBytes: Int = 64 << 10
    /// At most one take and write of pushed messages (`ResponsePusher`, e.g. subscriptions'
    /// updates) per connection per this delay: a push after a quiet spell is taken at once, one
    /// within the delay of the connection's last take waits for the rest of it, and everything
    /// pushed meanwhile leaves in that one socket write. Zero (the default): taken in the loop
    /// turn they are pushed in. A write's fixed cost (the syscall, loopback delivery, waking the
    /// reader) is paid once per batch, so under a fan-out's load a delay trades latency (a pushed message waits at most this long) for CPU
    /// and throughput (docs/BENCHMARKS.md "Subscriptions, sixth pass"); kato-server sets 2 ms.
    /// Calls that are not pushed (unary replies, `write`s of streaming handlers) never wait for it.
    public var pushCoalescingDelay: Duration = .zero
    /// With a coalescing delay, this many streams waiting on one connection are taken and
    /// written at once, without waiting for the delay's end (a burst has no reason to wait).
    public var pushCoalescingStreams: Int = 64
    /// Compress responses with gzip when the request was gzip-compressed and the client accepts it.
    public var compressResponsesLikeRequests: Bool = true
    /// Where handlers run. `.eventLoop` (the default) runs each call's task on its
    /// connection's event loop; `.concurrentPool` on Swift's global executor, which keeps
    /// long handlers from delaying other calls of the same connection at the price of two
    /// thread hops per call.
    public var handlerExecution: HandlerExecution = .eventLoop
    /// Keepalive and connection lifetime.
    public var keepalive: Keepalive = .init()
    /// RST_STREAMs a client may send on one connection before it gets GOAWAY (rapid reset,
    /// CVE-2023-44487): a burst of `burst`, then `perSecond`. libnghttp2's own default (1,000,
    /// then 33 a second) cuts off ordinary gRPC clients: every cancelled call, ended
    /// subscription and client-side deadline sends one, and the soak's subscriber alone leaves
    /// ~36 subscriptions a second on its channel. 200 a second still ends a flood within a few
    /// seconds; each reset stream's handler is cancelled, so a reset costs about one call.
    public var streamResets: StreamResetLimit = .init()
    /// At shutdown, how long the calls cut off by the grace period (their tasks cancelled) get
    /// to end before `GRPCServer.shutdown()` returns without them. Cancellation is cooperative:
    /// a handler stops at its next check, normally well within this.
    public var handlerExitBound: Duration = .seconds(2)
    /// TLS; nil serves plaintext h2c with prior knowledge.
    public var tls: TLSConfiguration? = nil
    /// gRPC-Web and Connect over HTTP/1.1 on the same port (off: HTTP/2 gRPC only).
    public var web: Web = .init()
    /// Verbose frame-level logging is never on: logs carry call outcomes only.
    public init() {}

    public enum HandlerExecution: Sendable, Hashable {
        case eventLoop
        case concurrentPool
    }

    public struct StreamResetLimit: Sendable, Hashable {
        public var burst: UInt64
        public var perSecond: UInt64
        public init(burst: UInt64 = 1000, perSecond: UInt64 = 200) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }

    public struct Keepalive: Sendable, Hashable {
        /// Send a PING after this much inactivity; nil = never (gRPC's server default is 2 h).
        public var pingInterval: Duration? = nil
        /// Close a connection whose PING is not answered within this time.
        public var pingTimeout: Duration = .seconds(20)
        /// Close connections idle (no open streams) this long; nil = never.
        public var maxIdle: Duration? = nil
        /// Gracefully close connections older than this; nil = never.
        public var maxAge: Duration? = nil
        /// In-flight calls get this long to finish after GOAWAY (shutdown or max age).
        public var gracePeriod: Duration = .seconds(10)
        public init() {}
    }

    /// The web protocols (docs/WEB.md). With `enabled`, each connection's first bytes decide:
    /// the HTTP/2 preface → gRPC as before; anything else → HTTP/1.1, where gRPC-Web and
    /// Connect calls reach the same handlers. Under TLS, ALPN offers `h2` and `http/1.1`.
    public struct Web: Sendable, Hashable {
        public var enabled: Bool = false
        /// Origins a browser may call from (CORS); `*` allows any. Empty: no CORS headers.
        public var corsOrigins: [String] = []
        /// An HTTP/1.1 connection must complete its next request (head and body) within this
        /// long of being opened or of its last response; closed otherwise (slow-header and idle
        /// clients do not hold a connection for ever). Responses that stream are not limited.
        public var requestTimeout: Duration = .seconds(60)
        /// JSON requests naming a field (or enum value) the message does not declare are
        /// refused with the field named (INVALID_ARGUMENT), unless this is set: then unknown
        /// members are skipped, as Connect and protobuf's `ignore_unknown_fields` allow, so
        /// clients built from a newer schema can call an older server.
        public var ignoreUnknownJSONFields: Bool = false
        public init(enabled: Bool = false, corsOrigins: [String] = [], requestTimeout: Duration = .seconds(60),
                    ignoreUnknownJSONFields: Bool = false) {
            self.enabled = enabled
            self.corsOrigins = corsOrigins
            self.requestTimeout = requestTimeout
            self.ignoreUnknownJSONFields = ignoreUnknownJSONFields
        }

        /// The value for `Access-Control-Allow-Origin`, when `origin` may call.
        public func allowedOrigin(_ origin: String) -> String? {
            if corsOrigins.contains("*") { return "*" }
            return corsOrigins.contains(origin) ? origin : nil
        }
    }

    /// Certificates and keys as PEM file paths.
    public struct TLSConfiguration: Sendable, Hashable {
        public var certificateChainPath: String
        public var privateKeyPath: String
        /// When set, clients must present a certificate signed by this CA (mTLS).
        public var clientCAPath: String?
        public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
            self.clientCAPath = clientCAPath
        }
    }
}

extension ServerConfiguration {
    /// Where a push source is parked: `maxBufferedPushBytes`, never above `maxBufferedResponseBytes`.
    var pushBufferLimit: Int { min(maxBufferedPushBytes, maxBufferedResponseBytes) }
}
