/// How many messages each side of a gRPC call sends.
public enum CallKind: String, Sendable, Hashable, CaseIterable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// A stream in each direction.
    case bidirectionalStreaming

    /// Whether the client sends a stream of requests.
    public var isClientStreaming: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    /// Whether the server sends a stream of responses.
    public var isServerStreaming: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}

/// One method of a protobuf service, typed by its request and response messages.
///
/// Generated service namespaces hold one per method:
///
/// ```swift
/// let check = Grpc_Health_V1_Health.check
/// check.path   // "/grpc.health.v1.Health/Check"
/// check.kind   // .unary
/// ```
public struct MethodDescriptor<Request: ProtoMessage, Response: ProtoMessage>: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP/2 `:path` of the method: `/package.Service/Method`.
    public let path: String
    /// The streaming shape of the method.
    public let kind: CallKind

    /// Creates the descriptor of the method at `path` (`/package.Service/Method`).
    public init(path: String, kind: CallKind) {
        precondition(path.hasPrefix("/") && path.dropFirst().contains("/"), "method path must be /package.Service/Method")
        self.path = path
        self.kind = kind
    }

    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    public var serviceName: String { MethodInfo.split(path).service }
    /// The method name, e.g. `Check`.
    public var methodName: String { MethodInfo.split(path).method }
    /// The untyped form, for registries keyed by path.
    public var info: MethodInfo { MethodInfo(path: path, kind: kind, requestType: Request.self, responseType: Response.self) }

    public var description: String { "\(path) (\(kind.rawValue))" }
}

/// One method of a protobuf service without its static types, so a runtime can keep the
/// methods of many services in one table.
public struct MethodInfo: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP/2 `:path` of the method: `/package.Service/Method`.
    public let path: String
    /// The streaming shape of the method.
    public let kind: CallKind
    /// The request message type.
    public let requestType: any ProtoMessage.Type
    /// The response message type.
    public let responseType: any ProtoMessage.Type

    /// Creates the description of the method at `path` (`/package.Service/Method`).
    public init(path: String, kind: CallKind, requestType: any ProtoMessage.Type, responseType: any ProtoMessage.Type) {
        self.path = path
        self.kind = kind
        self.requestType = requestType
        self.responseType = responseType
    }

    /// The fully-qualified service name, e.g. `grpc.health.v1.Health`.
    public var serviceName: String { Self.split(path).service }
    /// The method name, e.g. `Check`.
    public var methodName: String { Self.split(path).method }

    public var description: String {
        "\(path) (\(kind.rawValue)): \(requestType.protoMessageName) -> \(responseType.protoMessageName)"
    }

    public static func == (lhs: MethodInfo, rhs: MethodInfo) -> Bool {
        lhs.path == rhs.path && lhs.kind == rhs.kind
            && ObjectIdentifier(lhs.requestType) == ObjectIdentifier(rhs.requestType)
            && ObjectIdentifier(lhs.responseType) == ObjectIdentifier(rhs.responseType)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(path)
        hasher.combine(kind)
    }

    static func split(_ path: String) -> (service: String, method: String) {
        let trimmed = path.dropFirst()
        guard let slash = trimmed.lastIndex(of: "/") else { return (String(trimmed), "") }
        return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
    }
}

/// A `.proto` file and the services it declares (for reflection and service registries).
public struct ProtoFileInfo: Sendable, Hashable {
    /// The file name relative to its import root, e.g. `kato/v2/observe.proto`.
    public let name: String
    /// The protobuf package, e.g. `kato.v2`.
    public let package: String
    /// The fully-qualified names of the services declared in the file, in declaration order.
    public let serviceNames: [String]

    /// Describes a `.proto` file.
    public init(name: String, package: String, serviceNames: [String]) {
        self.name = name
        self.package = package
        self.serviceNames = serviceNames
    }
}
