/// A plain HTTP GET resource on the gRPC port, next to the calls: what a server built on this
/// transport serves to browsers that are not calls (a web console's static files and the like).
/// The transport knows nothing of what it serves: it matches the path prefix, hands the request
/// over and sends the response as given. Served over HTTP/1.1 (docs/WEB.md); a GET whose path no
/// route claims is refused as before.
public struct HTTPGetRoute: Sendable {
    /// Paths starting with this (e.g. `/console/`), or exactly `pathPrefix` without its last `/`.
    public var pathPrefix: String
    public var respond: @Sendable (HTTPGetRequest) async -> HTTPGetResponse

    public init(pathPrefix: String, respond: @escaping @Sendable (HTTPGetRequest) async -> HTTPGetResponse) {
        self.pathPrefix = pathPrefix
        self.respond = respond
    }

    public func matches(_ path: String) -> Bool {
        path.hasPrefix(pathPrefix) || (pathPrefix.hasSuffix("/") && path == String(pathPrefix.dropLast()))
    }
}

public struct HTTPGetRequest: Sendable {
    /// The path without the query.
    public var path: String
    /// What follows `?`, if anything (undecoded).
    public var query: String
    /// Request headers, names lower-cased.
    public var headers: [(name: String, value: String)]
    /// The peer's address (`ipv4:127.0.0.1:1234`, …), as calls see it.
    public var peer: String

    public init(path: String, query: String, headers: [(name: String, value: String)], peer: String) {
        self.path = path
        self.query = query
        self.headers = headers
        self.peer = peer
    }

    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}

public struct HTTPGetResponse: Sendable {
    public var status: Int
    /// Header fields (`content-length` and `connection` are the transport's).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension ServiceRouter {
    /// The GET route claiming `path`, if any.
    package func getRoute(for path: String) -> HTTPGetRoute? {
        getRoutes.first { $0.matches(path) }
    }
}
