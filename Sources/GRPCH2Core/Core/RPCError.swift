/// A non-OK outcome of a call: what a handler throws and what a client receives.
///
/// `details` is the serialized `google.rpc.Status` carried in `grpc-status-details-bin`
/// (see `RPCError.init(code:message:details:)` in `Services/StatusDetails.swift`).
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    /// Serialized `google.rpc.Status`, sent as `grpc-status-details-bin` when non-nil.
    public var statusDetails: [UInt8]?
    /// Trailing metadata sent with the status.
    public var trailingMetadata: Metadata

    public init(code: StatusCode, message: String, statusDetails: [UInt8]? = nil, trailingMetadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.statusDetails = statusDetails
        self.trailingMetadata = trailingMetadata
    }

    public var description: String { "\(code.name): \(message)" }
}

/// A domain error that knows its gRPC status: the one place where a layer's typed errors
/// become statuses (hummingbird's `HTTPResponseError` habit).
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}

extension RPCError {
    /// Maps any error a handler throws to the status sent to the peer.
    /// Errors that do not describe themselves become UNKNOWN without leaking internals.
    public init(mapping error: any Error) {
        switch error {
        case let convertible as any RPCErrorConvertible:
            self = convertible.rpcError
        case is CancellationError:
            self = RPCError(code: .cancelled, message: "call cancelled")
        default:
            self = RPCError(code: .unknown, message: "handler failed: \(type(of: error))")
        }
    }
}
