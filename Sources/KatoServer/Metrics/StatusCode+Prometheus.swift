import GRPCH2
import ProtobufCBridge

extension StatusCode {
    /// The code as go-grpc-prometheus labels it (`grpc_code`): Go's `codes.Code.String()`,
    /// e.g. `OK`, `NotFound`, `DeadlineExceeded`, and `Canceled` with one l.
    public var prometheusName: String {
        Self.goNames.indices.contains(rawValue) ? Self.goNames[rawValue] : "Code(\(rawValue))"
    }

    private static let goNames = [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
        "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
        "Unauthenticated",
    ]
}

extension CallKind {
    /// go-grpc-prometheus's `grpc_type` label.
    public var prometheusName: String {
        switch self {
        case .unary: "unary"
        case .clientStreaming: "client_stream"
        case .serverStreaming: "server_stream"
        case .bidirectionalStreaming: "bidi_stream"
        }
    }
}
