// A test-only gRPC server for the runtime's interop tests: the echo service (all four call
// kinds), health and reflection. Never part of production.
//
//   grpch2-echo-server [--port N] [--tls-cert F --tls-key F [--tls-client-ca F]]
//                      [--max-receive-size BYTES] [--max-concurrent-streams N]
//                      [--max-header-list-size BYTES] [--descriptors FILE]... [--web] [--grace-ms N]
//
// --web: the web protocols on, and a GET route `/slow/?ms=N` that answers `slow N` after N ms
// (for the tests of GET requests in flight at shutdown; `__stats__` counts it in `delaying` meanwhile).
import EchoProto
import Foundation
import GRPCH2
import Logging

var configuration = ServerConfiguration()
configuration.port = 0
var descriptorFiles: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
var tlsCert: String?, tlsKey: String?, tlsCA: String?
while let arg = arguments.next() {
    switch arg {
    case "--port": configuration.port = Int(arguments.next()!)!
    case "--tls-cert": tlsCert = arguments.next()
    case "--tls-key": tlsKey = arguments.next()
    case "--tls-client-ca": tlsCA = arguments.next()
    case "--max-receive-size": configuration.maxReceiveMessageSize = Int(arguments.next()!)!
    case "--descriptors": descriptorFiles.append(arguments.next()!)
    case "--max-concurrent-streams": configuration.maxConcurrentStreams = UInt32(arguments.next()!)!
    case "--max-header-list-size": configuration.maxHeaderListSize = UInt32(arguments.next()!)!
    case "--web": configuration.web.enabled = true
    case "--grace-ms": configuration.keepalive.gracePeriod = .milliseconds(Int(arguments.next()!)!)
    default:
        FileHandle.standardError.write(Data("unknown argument \(arg)\n".utf8))
        exit(2)
    }
}
if let tlsCert, let tlsKey {
    configuration.tls = .init(certificateChainPath: tlsCert, privateKeyPath: tlsKey, clientCAPath: tlsCA)
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
var logger = Logger(label: "grpch2-echo-server")
logger.logLevel = .warning

let echo = EchoService()
let health = HealthService()
var index = DescriptorIndex()
for file in descriptorFiles {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
    index.merge(try DescriptorIndex(descriptorSet: bytes))
}
var router = ServiceRouter()
router.register(echo)
router.register(health)
let listed = [echo.serviceName, health.serviceName] + ReflectionService.serviceNames
router.register(ReflectionService(index: index, services: listed))
if configuration.web.enabled {
    router.getRoutes.append(HTTPGetRoute(pathPrefix: "/slow/") { request in
        let ms = request.query.split(separator: "&").first { $0.hasPrefix("ms=") }.flatMap { Int($0.dropFirst(3)) } ?? 0
        try? await echo.delay(milliseconds: ms)
        return HTTPGetResponse(status: 200, headers: [("content-type", "text/plain")], body: Array("slow \(ms)\n".utf8))
    })
}
for name in listed { health.setStatus(.serving, forService: name) }
health.setStatus(.serving, forService: "")

let server = GRPCServer(configuration: configuration, router: router, logger: logger)

// SIGTERM: graceful shutdown, then exit 0. Installed before the address is printed (a
// supervisor may signal as soon as it reads it; the default action would kill us). Main
// waits for the shutdown to *finish*, not for the listener to close: the listener closes
// first, and returning then would exit with the calls the grace period should let finish.
let (shutdownDone, shutdownFinished) = AsyncStream<Void>.makeStream()
ProcessTermination.onSignal {
    Task {
        health.enterShutdown()
        await server.shutdown()
        shutdownFinished.finish()
    }
}

let address = try await server.start()
print("listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
fflush(nil)

for await _ in shutdownDone {}
exit(0)
