import ProtobufCBridge

/// Server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha` (same wire
/// format, so one implementation serves both paths): list services, file by filename,
/// file containing symbol, built from the served protos' descriptor set.
public struct ReflectionService: ServiceProvider {
    public let index: DescriptorIndex
    private let listed: [String]

    /// - Parameters:
    ///   - index: descriptors of every served proto (and their imports).
    ///   - services: the service names to list; defaults to every service in the index.
    public init(index: DescriptorIndex, services: [String]? = nil) {
        self.index = index
        self.listed = services ?? index.services
    }

    public var serviceName: String { "grpc.reflection.v1.ServerReflection" }

    /// Both reflection services' names, for health and listings.
    public static let serviceNames = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]

    public var methods: [ServerMethod] {
        let v1 = Grpc_Reflection_V1_ServerReflection.serverReflectionInfo
        let v1alpha = MethodDescriptor<Grpc_Reflection_V1_ServerReflectionRequest, Grpc_Reflection_V1_ServerReflectionResponse>(
            path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", kind: .bidirectionalStreaming)
        return [v1, v1alpha].map { descriptor in
            .bidirectionalStreaming(descriptor) { requests, writer, _ in
                for try await request in requests {
                    try await writer.write(answer(request))
                }
            }
        }
    }

    func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var response = Grpc_Reflection_V1_ServerReflectionResponse()
        response.validHost = request.host
        response.originalRequest = request
        switch request.messageRequest {
        case .listServices?:
            var list = Grpc_Reflection_V1_ListServiceResponse()
            list.service = listed.map { name in
                var s = Grpc_Reflection_V1_ServiceResponse()
                s.name = name
                return s
            }
            response.messageResponse = .listServicesResponse(list)
        case .fileByFilename(let name)?:
            response.messageResponse = files(index.fileWithDependencies(name), notFound: "file '\(name)' not found")
        case .fileContainingSymbol(let symbol)?:
            let file = index.symbols[symbol] ?? ""
            response.messageResponse = files(index.fileWithDependencies(file), notFound: "symbol '\(symbol)' not found")
        case .fileContainingExtension(let ext)?:
            response.messageResponse = error(.notFound, "extension \(ext.extensionNumber) of '\(ext.containingType)' not found")
        case .allExtensionNumbersOfType(let type)?:
            if index.symbols[type] != nil {
                var numbers = Grpc_Reflection_V1_ExtensionNumberResponse()
                numbers.baseTypeName = type
                response.messageResponse = .allExtensionNumbersResponse(numbers)
            } else {
                response.messageResponse = error(.notFound, "type '\(type)' not found")
            }
        case nil:
            response.messageResponse = error(.invalidArgument, "empty reflection request")
        }
        return response
    }

    private func files(_ files: [DescriptorIndex.File], notFound: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        guard !files.isEmpty else { return error(.notFound, notFound) }
        var descriptors = Grpc_Reflection_V1_FileDescriptorResponse()
        // The requested file last? grpc-go sends it first, then its dependencies.
        descriptors.fileDescriptorProto = files.reversed().map(\.serialized)
        return .fileDescriptorResponse(descriptors)
    }

    private func error(_ code: StatusCode, _ message: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        var e = Grpc_Reflection_V1_ErrorResponse()
        e.errorCode = Int32(code.rawValue)
        e.errorMessage = message
        return .errorResponse(e)
    }
}
