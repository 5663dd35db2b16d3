/// A non-OK outcome of a call: what a handler throws and what a client receives.
///
/// `details` is the serialized `google.rpc.Status` carried in `grpc-status-details-bin`
/// (see `RPCError.init(code:message:details:)` in `Services/StatusDetails.swift`).
///
/// `cause` keeps the error this status stands for (a domain error, a decoding failure) for
/// logs and interceptors; it is never sent to the peer and does not take part in `==`.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    /// Serialized `google.rpc.Status`, sent as `grpc-status-details-bin` when non-nil.
    public var statusDetails: [UInt8]?
    /// Trailing metadata sent with the status.
    public var trailingMetadata: Metadata
    /// The underlying error, if any (not sent; not compared).
    public var cause: (any Error)?

    public init(
        code: StatusCode, message: String, statusDetails: [UInt8]? = nil, trailingMetadata: Metadata = Metadata(),
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.statusDetails = statusDetails
        self.trailingMetadata = trailingMetadata
        self.cause = cause
    }

    public var description: String { "\(code.name): \(message)" }

    public static func == (a: RPCError, b: RPCError) -> Bool {
        a.code == b.code && a.message == b.message && a.statusDetails == b.statusDetails
            && a.trailingMetadata == b.trailingMetadata
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(statusDetails)
        hasher.combine(trailingMetadata)
    }
}

/// A domain error that knows its gRPC status: the one place where a layer's typed errors
/// become statuses (hummingbird's `HTTPResponseError` habit).
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
    /// The status for this error in a call, which may put what the call's context holds into
    /// it (kato: the trace id, in `ErrorInfo`). By default `rpcError`.
    func rpcError(in context: ServerContext) -> RPCError
}

extension RPCErrorConvertible {
    public func rpcError(in context: ServerContext) -> RPCError { rpcError }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}

extension RPCError {
    /// Maps any error a handler throws to the status sent to the peer, as `init(mapping:)`
    /// does, with `context` for the errors that put something of their call into their status.
    /// The edge of a call: the transport calls this with the context it made, an interceptor
    /// (kato's trace interceptor) with the context it attached its attributes to.
    public init(mapping error: any Error, in context: ServerContext) {
        if let convertible = error as? any RPCErrorConvertible, !(error is RPCError) {
            self = convertible.rpcError(in: context)
            if cause == nil { cause = convertible }
        } else {
            self.init(mapping: error)
        }
    }

    /// Maps any error a handler throws to the status sent to the peer.
    /// Errors that do not describe themselves become UNKNOWN without leaking internals.
    public init(mapping error: any Error) {
        switch error {
        case let rpcError as RPCError:
            self = rpcError
        case let convertible as any RPCErrorConvertible:
            self = convertible.rpcError
            if cause == nil { cause = convertible }
        case is CancellationError:
            self = RPCError(code: .cancelled, message: "call cancelled", cause: error)
        default:
            self = RPCError(code: .unknown, message: "handler failed: \(type(of: error))", cause: error)
        }
    }
}
