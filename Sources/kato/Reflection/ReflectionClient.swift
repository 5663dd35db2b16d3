import GRPCH2
import ProtobufCBridge

/// Server reflection over one `ServerReflectionInfo` stream: `grpc.reflection.v1`, falling
/// back to `v1alpha` when the server answers UNIMPLEMENTED. Both versions share one wire
/// format, so the v1 message types serve for both.
final class ReflectionClient {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    private static let paths = [
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]

    private let grpc: GRPCClient
    private let metadata: Metadata
    private let deadline: ContinuousClock.Instant?
    private var call: ClientCall?
    private var responses: ClientCall.Responses<Response>.AsyncIterator?
    private var version = 0

    init(grpc: GRPCClient, metadata: Metadata, deadline: ContinuousClock.Instant?) {
        self.grpc = grpc
        self.metadata = metadata
        self.deadline = deadline
    }

    /// Half-closes the stream.
    func close() {
        call?.finishRequests()
        call = nil
        responses = nil
    }

    /// Sends one request and reads its answer, opening the stream on first use.
    func send(_ request: Request) async throws -> Response {
        while true {
            if call == nil {
                let timeout = deadline.map { $0 - ContinuousClock.now }
                if let timeout, timeout <= .zero { throw RPCError(code: .deadlineExceeded, message: "deadline exceeded before reflection") }
                let c = try await grpc.start(path: Self.paths[version], metadata: metadata, timeout: timeout)
                call = c
                responses = c.responses(Response.self).makeAsyncIterator()
            }
            call!.send(request)
            do {
                guard let response = try await responses!.next() else {
                    throw RPCError(code: .internalError, message: "the server ended the reflection stream without answering")
                }
                return response
            } catch let error as RPCError where error.code == .unimplemented && version == 0 {
                call = nil
                responses = nil
                version = 1
            }
        }
    }

    func listServices() async throws -> [String] {
        var request = Request()
        request.listServices = ""
        let response = try await send(request)
        try Self.check(response)
        return response.listServicesResponse.service.map(\.name)
    }

    /// The file declaring `symbol`, with (some of) its dependencies, serialized.
    func fileContainingSymbol(_ symbol: String) async throws -> [[UInt8]] {
        var request = Request()
        request.fileContainingSymbol = symbol
        let response = try await send(request)
        try Self.check(response)
        return response.fileDescriptorResponse.fileDescriptorProto
    }

    func fileByFilename(_ name: String) async throws -> [[UInt8]] {
        var request = Request()
        request.fileByFilename = name
        let response = try await send(request)
        try Self.check(response)
        return response.fileDescriptorResponse.fileDescriptorProto
    }

    private static func check(_ response: Response) throws {
        if case .errorResponse(let e)? = response.messageResponse {
            throw ReflectionError(code: StatusCode(rawValue: Int(e.errorCode)), message: e.errorMessage)
        }
    }
}

/// The server's reflection service answered a request with an error.
struct ReflectionError: Error, CustomStringConvertible {
    let code: StatusCode
    let message: String
    var description: String { message }
}
