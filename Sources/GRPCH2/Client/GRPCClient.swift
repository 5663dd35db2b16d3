import GRPCH2Core
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ProtobufCBridge
import Synchronization

/// A gRPC client over an HTTP/2 connection (h2c or TLS), on GRPCH2's nghttp2 session.
/// Calls are multiplexed on the connection; it is safe to use from many tasks. After the
/// server's GOAWAY (a drain, a restart) new calls go over a new connection, and a unary or
/// client-streaming call the server refused unprocessed is sent again there
/// (`Configuration.reconnects`, GRPCClient+Connections.swift).
///
/// ```swift
/// let client = GRPCClient(configuration: .init(host: "127.0.0.1", port: 50051))
/// try await client.connect()
/// let health = try await client.unary(Grpc_Health_V1_Health.check, Grpc_Health_V1_HealthCheckRequest())
/// ```
public final class GRPCClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// TLS settings; nil = plaintext h2c with prior knowledge.
        public var tls: TLS?
        public var maxReceiveMessageSize: Int = 64 * 1024 * 1024
        /// Metadata sent with every call (e.g. credentials).
        public var defaultMetadata: Metadata = Metadata()
        /// Open a new connection for new calls once the server said GOAWAY or the connection
        /// closed, and send again the unary and client-streaming calls it refused unprocessed
        /// (REFUSED_STREAM; at most `transparentRetries` times). false: one connection for the
        /// client's life; calls after GOAWAY fail with UNAVAILABLE.
        public var reconnects = true
        public var transparentRetries = 3

        public init(host: String, port: Int, tls: TLS? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        public struct TLS: Sendable {
            /// PEM CA bundle to trust; nil = the system's roots.
            public var caPath: String?
            /// Client certificate and key (mTLS).
            public var certificatePath: String?
            public var keyPath: String?
            /// Skip certificate verification (testing only).
            public var insecure: Bool = false
            public var serverName: String?
            public init(caPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil, insecure: Bool = false, serverName: String? = nil) {
                self.caPath = caPath
                self.certificatePath = certificatePath
                self.keyPath = keyPath
                self.insecure = insecure
                self.serverName = serverName
            }
        }
    }

    public let configuration: Configuration
    let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let connections: ClientConnections
    private let logger: Logger

    public init(configuration: Configuration, group: (any EventLoopGroup)? = nil, logger: Logger = Logger(label: "grpch2.client")) {
        self.configuration = configuration
        self.logger = logger
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownsGroup = true
        }
        connections = ClientConnections(configuration: configuration, group: self.group, logger: logger)
    }

    /// Connections opened after the first one (after GOAWAY or a lost connection).
    public var reconnectCount: Int { connections.reconnectCount }

    /// Opens the connection (TCP, TLS handshake, HTTP/2 preface).
    public func connect() async throws {
        try await connections.connect()
    }

    static func sslContext(_ tls: Configuration.TLS) throws -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        c.applicationProtocols = ["h2"]
        if let ca = tls.caPath { c.trustRoots = .file(ca) }
        if tls.insecure { c.certificateVerification = .none }
        if let cert = tls.certificatePath, let key = tls.keyPath {
            c.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            c.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: c)
    }

    public func close() async {
        await connections.close()
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    // MARK: calls

    /// A unary call.
    public func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: Duration? = nil
    ) async throws -> Response {
        let bytes = request.serializedBytes()
        return try await retryingRefused(timeout) { timeout in
            let call = try await start(path: method.path, metadata: metadata, timeout: timeout)
            call.send(bytes, end: true)
            return try await call.single(Response.self)
        }
    }

    /// A server-streaming call: the responses as they arrive; the sequence throws `RPCError`
    /// when the call ends with a non-OK status.
    public func serverStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request,
        metadata: Metadata = Metadata(), timeout: Duration? = nil
    ) async throws -> ClientCall.Responses<Response> {
        let call = try await start(path: method.path, metadata: metadata, timeout: timeout)
        call.send(request.serializedBytes(), end: true)
        return call.responses(Response.self)
    }

    /// A client-streaming call: sends every request, then returns the single response.
    public func clientStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ requests: [Request],
        metadata: Metadata = Metadata(), timeout: Duration? = nil
    ) async throws -> Response {
        let messages = requests.map { $0.serializedBytes() }
        return try await retryingRefused(timeout) { timeout in
            let call = try await start(path: method.path, metadata: metadata, timeout: timeout)
            for m in messages { call.send(m, end: false) }
            call.finishRequests()
            return try await call.single(Response.self)
        }
    }

    /// Runs a call again when the server refused it unprocessed (gRPC's transparent retry),
    /// within the call's deadline; `body` gets the time left.
    private func retryingRefused<T>(_ timeout: Duration?, _ body: (Duration?) async throws -> T) async throws -> T {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var attempt = 0
        while true {
            do {
                return try await body(deadline.map { $0 - .now })
            } catch let error as RPCError where error.cause is StreamRefused && configuration.reconnects
                && attempt < configuration.transparentRetries && deadline.map({ $0 > .now }) ?? true {
                attempt += 1
            }
        }
    }

    /// Starts any call; send requests and read responses through the returned `ClientCall`.
    public func start(path: String, metadata: Metadata = Metadata(), timeout: Duration? = nil) async throws -> ClientCall {
        var headers = [
            HeaderField(":method", "POST"), HeaderField(":scheme", configuration.tls == nil ? "http" : "https"),
            HeaderField(":path", path), HeaderField(":authority", "\(configuration.host):\(configuration.port)"),
            HeaderField("content-type", "application/grpc"), HeaderField("te", "trailers"),
            HeaderField("grpc-accept-encoding", "identity,gzip"), HeaderField("user-agent", "grpch2-swift/1.0"),
        ]
        if let timeout { headers.append(HeaderField("grpc-timeout", GRPCTimeout.format(timeout))) }
        var all = configuration.defaultMetadata
        all.append(contentsOf: metadata)
        // Reserved names (pseudo-headers, `grpc-*` but the application ones, content-type …)
        // are the runtime's to send: dropped, as the server drops them on receipt.
        for entry in all where !Metadata.isReserved(entry.key) {
            switch entry.value {
            case .string(let s): headers.append(HeaderField(entry.key, s))
            case .binary(let b): headers.append(HeaderField(entry.key, Base64.encode(b)))
            }
        }
        let requestHeaders = headers
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let maxSize = configuration.maxReceiveMessageSize
        var attempt = 0
        while true {
            guard let connection = try await connections.forNewCall() else {
                throw RPCError(code: .unavailable, message: "not connected")
            }
            let (messages, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
            let status = StatusBox()
            let loopBound = connection.handler
            let streamID: Int32? = try await connection.channel.eventLoop.submit {
                let stream = ClientConnectionHandler.Stream(maxMessageSize: maxSize, messages: continuation) { status.set($0) }
                return loopBound.value.open(headers: requestHeaders, stream: stream, deadline: deadline)
            }.get()
            let call = ClientCall(streamID: streamID ?? -1, connection: loopBound, messages: messages, status: status)
            // No stream (the connection closed, or GOAWAY came first): nothing was sent, so the
            // call goes on a new connection; the failed call is returned once retries run out.
            if streamID != nil || !configuration.reconnects || attempt >= configuration.transparentRetries { return call }
            connection.goingAway.set()
            attempt += 1
        }
    }
}

/// One call in flight: send requests, read responses.
public struct ClientCall: Sendable {
    let streamID: Int32
    let connection: NIOLoopBound<ClientConnectionHandler>
    let messages: AsyncThrowingStream<[UInt8], any Error>
    let status: StatusBox

    /// Queues one serialized request message; `end` half-closes the request side.
    public func send(_ message: [UInt8], end: Bool = false) {
        let (connection, id) = (self.connection, streamID)
        connection.eventLoop.execute { connection.value.send(streamID: id, message: message, end: end) }
    }

    /// Sends a typed request message.
    public func send<M: ProtoMessage>(_ message: M, end: Bool = false) {
        send(message.serializedBytes(), end: end)
    }

    /// Half-closes the request side.
    public func finishRequests() {
        let (connection, id) = (self.connection, streamID)
        connection.eventLoop.execute { connection.value.finishRequest(streamID: id) }
    }

    /// Cancels the call (RST_STREAM CANCEL).
    public func cancel() {
        let (connection, id) = (self.connection, streamID)
        connection.eventLoop.execute { connection.value.cancel(streamID: id, error: RPCError(code: .cancelled, message: "cancelled by the client")) }
    }

    /// Trailing metadata of a finished call.
    public var trailingMetadata: Metadata { status.metadata }

    func single<M: ProtoMessage>(_: M.Type) async throws -> M {
        var result: M?
        for try await bytes in responses(M.self).raw {
            guard result == nil else { throw RPCError(code: .internalError, message: "more than one response for a unary call") }
            result = try M(serializedBytes: bytes)
        }
        guard let result else { throw RPCError(code: .internalError, message: "no response message") }
        return result
    }

    /// The responses, decoded.
    public func responses<M: ProtoMessage>(_: M.Type) -> Responses<M> {
        Responses(raw: messages, call: self)
    }

    /// Response messages; iteration throws the call's `RPCError` on a non-OK status and
    /// cancels the call when the iterating task is cancelled.
    public struct Responses<M: ProtoMessage>: AsyncSequence, Sendable {
        public typealias Element = M
        let raw: AsyncThrowingStream<[UInt8], any Error>
        let call: ClientCall

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
            let call: ClientCall
            public mutating func next() async throws -> M? {
                let call = self.call
                let bytes = try await withTaskCancellationHandler {
                    try await base.next()
                } onCancel: {
                    call.cancel()
                }
                return try bytes.map { try M(serializedBytes: $0) }
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: raw.makeAsyncIterator(), call: call)
        }
    }
}

/// The outcome of a call, written once on the loop, read by the caller.
final class StatusBox: Sendable {
    private let value = Mutex<Result<Metadata, RPCError>?>(nil)
    func set(_ result: Result<Metadata, RPCError>) { value.withLock { $0 = result } }
    var metadata: Metadata {
        switch value.withLock({ $0 }) {
        case .success(let m)?: m
        case .failure(let e)?: e.trailingMetadata
        case nil: Metadata()
        }
    }
}

/// Holds the connection handler's loop-bound reference (set on the loop, read anywhere).
final class ConnectionBox: Sendable {
    let value = Mutex<NIOLoopBound<ClientConnectionHandler>?>(nil)
}
