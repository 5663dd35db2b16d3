import EchoProto
import GRPCH2
import KatoProto
import Logging
import NIOCore
import NIOEmbedded

/// Bytes from a client on one server connection, through everything the server puts behind a
/// socket (`GRPCServer.installConnectionHandler`: nghttp2 session, stream table, deframing,
/// decode, handler tasks, response framing), on an `EmbeddedChannel`: handler tasks run on the
/// embedded loop, so an input is finished when `run` returns.
///
/// Input (`connection`): what a client sends after the 24-byte connection preface (which the
/// harness sends first, so inputs are frames). Input (`http1`): the raw bytes of the connection
/// with nothing before them, so the protocol detector sends all but a preface to the HTTP/1.1
/// side of the web protocols (request heads, chunked bodies, keep-alive, gRPC-Web, gRPC-Web
/// text, Connect unary and streaming, CORS preflights, GET routes). Registered: grpc.health.v1.Health (Check, Watch), reflection
/// v1 and v1alpha over kato.v2's descriptors, and an echo service of each call kind. The web
/// protocols are on (as `kato-server --web`): the connection starts behind the protocol
/// detector, which the preface sends to HTTP/2.
enum ConnectionFuzz {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static let router: ServiceRouter = {
        var router = ServiceRouter()
        let health = HealthService()
        health.setStatus(.serving, forService: "")
        health.setStatus(.serving, forService: Grpch2_Test_Echo.serviceName)
        router.register(health)
        guard let index = try? DescriptorIndex(descriptorSet: KatoDescriptors.descriptorSet) else {
            preconditionFailure("kato.v2's descriptor set does not parse")
        }
        router.register(ReflectionService(index: index))
        router.register(FuzzEchoService())
        return router
    }()

    static let configuration: ServerConfiguration = {
        var c = ServerConfiguration()
        c.maxReceiveMessageSize = 64 * 1024
        c.maxConcurrentStreams = 100
        // As kato-server with --web: the same HTTP/2 connection also serves gRPC-Web and
        // Connect requests (by content-type) and CORS preflights.
        c.web = .init(enabled: true, corsOrigins: ["*"])
        return c
    }()

    static let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Reads larger than this arrive in several `channelRead`s, as from a socket.
    static let readSize = 4096

    static func run(_ data: UnsafeRawBufferPointer, sendsPreface: Bool) {
        _ = serve(data, sendsPreface: sendsPreface, keepResponse: false)
    }

    /// Runs one connection; returns what the server wrote when `keepResponse` (for the tests
    /// that check the harness really answers calls within an input).
    static func serve(_ data: UnsafeRawBufferPointer, sendsPreface: Bool, keepResponse: Bool) -> [UInt8] {
        var response: [UInt8] = []
        func drainOutbound(_ channel: EmbeddedChannel) {
            while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
                if keepResponse { response += buffer.readableBytesView }
            }
        }
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        do {
            try GRPCServer.installConnectionHandler(on: channel, configuration: configuration, router: router, logger: logger)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        } catch {
            preconditionFailure("cannot set up the embedded connection: \(error)")
        }
        var input = sendsPreface ? preface : []
        input.append(contentsOf: data)
        var offset = 0
        while offset < input.count, channel.isActive {
            let end = min(input.count, offset + readSize)
            var buffer = channel.allocator.buffer(capacity: end - offset)
            buffer.writeBytes(input[offset..<end])
            offset = end
            do {
                try channel.writeInbound(buffer)
            } catch {
                break  // the connection refused the input and closed
            }
            loop.run()
            drainOutbound(channel)
        }
        // The client goes away: calls are cancelled, their tasks finish on the loop; then the
        // timers (lingering close, keepalive) fire and nothing is left scheduled.
        _ = try? channel.finish(acceptAlreadyClosed: true)
        loop.run()
        loop.advanceTime(by: .seconds(60))
        drainOutbound(channel)
        try? loop.syncShutdownGracefully()
        return response
    }
}

/// `grpch2.test.Echo` without delays (a sleeping handler would outlive its input).
struct FuzzEchoService: ServiceProvider {
    let serviceName = Grpch2_Test_Echo.serviceName

    var methods: [ServerMethod] {
        [
            .unary(Grpch2_Test_Echo.unary) { request, _ in try Self.respond(to: request, index: 0) },
            .serverStreaming(Grpch2_Test_Echo.serverStream) { request, writer, _ in
                for i in 0..<min(4, max(1, Int(request.count))) {
                    try await writer.write(try Self.respond(to: request, index: i))
                }
            },
            .clientStreaming(Grpch2_Test_Echo.clientStream) { requests, _ in
                var response = Grpch2_Test_EchoResponse()
                for try await request in requests {
                    response.payload += request.payload.prefix(1024)
                    response.index += 1
                }
                return response
            },
            .bidirectionalStreaming(Grpch2_Test_Echo.bidiStream) { requests, writer, _ in
                var i = 0
                for try await request in requests {
                    try await writer.write(try Self.respond(to: request, index: i))
                    i += 1
                }
            },
        ]
    }

    static func respond(to request: Grpch2_Test_EchoRequest, index: Int) throws -> Grpch2_Test_EchoResponse {
        if request.failCode != 0 {
            throw RPCError(code: StatusCode(rawValue: Int(request.failCode)), message: request.failMessage)
        }
        var response = Grpch2_Test_EchoResponse()
        response.message = request.message
        response.payload = request.payload
        response.index = Int32(index)
        return response
    }
}
