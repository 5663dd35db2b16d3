import Foundation
import GRPCH2
import GRPCH2Core
import KatoProto
import Logging
import ProtobufCBridge
import XCTest

@testable import KatoServer

/// A `KatoServerApp` called in process (`InProcessTransport` over the app's own router): the
/// same services, sessions and interceptor chain as over the network, without sockets.
struct InProcessKato {
    let app: KatoServerApp
    let transport: InProcessTransport

    /// Keys of the key file `withKeys` writes: principal → (key, roles, nodes).
    static let keys: [(principal: String, key: String, roles: [String], nodes: [String])] = [
        ("reader", "reader-key-0123456789abcdef", ["reader"], ["n1"]),
        ("writer", "writer-key-0123456789abcdef", ["writer"], ["n1"]),
        ("admin", "admin-key-0123456789abcdef0", ["admin"], []),
        ("other", "other-key-0123456789abcdef0", ["writer"], ["n2"]),
    ]

    init(_ configure: (inout KatoServerApp.Configuration) -> Void = { _ in }) throws {
        var configuration = KatoServerApp.Configuration()
        configuration.accessLogLevel = nil
        configure(&configuration)
        app = try KatoServerApp(configuration: configuration, logger: Logger(label: "test"))
        transport = InProcessTransport(router: app.server.router)
    }

    /// With authentication on, from a key file holding `keys`.
    static func withKeys(_ configure: (inout KatoServerApp.Configuration) -> Void = { _ in }) async throws -> InProcessKato {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kato-keys-\(UUID().uuidString).json").path
        let entries = keys.map { k in
            "{\"principal\": \"\(k.principal)\", \"key\": \"\(k.key)\", \"roles\": [\(k.roles.map { "\"\($0)\"" }.joined(separator: ", "))], \"nodes\": [\(k.nodes.map { "\"\($0)\"" }.joined(separator: ", "))]}"
        }
        try "[\(entries.joined(separator: ", "))]".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var auth = Authenticator.Configuration()
        auth.keyFile = path
        let authenticator = try await Authenticator.load(auth)
        return try InProcessKato { c in
            c.authenticator = authenticator
            configure(&c)
        }
    }

    static func key(_ principal: String) -> Metadata {
        Metadata([("x-api-key", keys.first { $0.principal == principal }!.key)])
    }

    /// One unary call: its response or its status, and the whole outcome.
    func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, metadata: Metadata = Metadata(),
        timeout: Duration? = nil
    ) async -> (response: Response?, outcome: InProcessTransport.Response) {
        let outcome = await transport.call(
            path: method.path, requests: [request.serializedBytes()], metadata: metadata, timeout: timeout)
        let response = outcome.messages.first.flatMap { try? Response(serializedBytes: $0) }
        return (response, outcome)
    }

    /// A unary call that must succeed.
    func ok<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, metadata: Metadata = Metadata(),
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> Response {
        let (response, outcome) = await unary(method, request, metadata: metadata)
        XCTAssertNil(outcome.status, "\(method.path): \(outcome.status.map(String.init(describing:)) ?? "")", file: file, line: line)
        return try XCTUnwrap(response, file: file, line: line)
    }

    func createSession(node: String = "n1", metadata: Metadata = Metadata()) async throws -> String {
        var request = Kato_V2_CreateSessionRequest()
        request.nodeID = node
        return try await ok(Kato_V2_SessionService.createSession, request, metadata: metadata).sessionID
    }
}

extension InProcessTransport.Response {
    /// The `ErrorInfo` of the status details.
    var errorInfo: Google_Rpc_ErrorInfo? {
        status?.status?.details.lazy.compactMap { $0.unpack(Google_Rpc_ErrorInfo.self) }.first
    }
}
