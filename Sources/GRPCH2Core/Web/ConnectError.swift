import ProtobufCBridge
import StrictJSON

/// The Connect protocol's error form (connectrpc.com/docs/protocol): a status code by name,
/// an HTTP status for unary calls, and a JSON body `{"code","message","details"}` whose
/// details are the `google.rpc.Status` details the gRPC form carries in
/// `grpc-status-details-bin` (same ErrorInfo, same reason, same trace id).
public enum ConnectError {
    private static let names = [
        "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
        "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
        "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
        "unauthenticated",
    ]
    // The protocol's table, by code: canceled 499 … unauthenticated 401.
    private static let httpStatuses = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401]

    /// Connect's name for a code (`not_found`); codes outside the table are `unknown`.
    public static func name(of code: StatusCode) -> String {
        names.indices.contains(code.rawValue) ? names[code.rawValue] : "unknown"
    }

    /// The HTTP status a unary Connect error is sent with.
    public static func httpStatus(of code: StatusCode) -> Int {
        httpStatuses.indices.contains(code.rawValue) ? httpStatuses[code.rawValue] : 500
    }

    /// The JSON error object, as the body of a unary error or the `error` member of a
    /// streaming end-of-stream message.
    public static func json(_ error: RPCError) -> JSONValue {
        var members: [(String, JSONValue)] = [("code", .string(name(of: error.code)))]
        if !error.message.isEmpty { members.append(("message", .string(error.message))) }
        let details = error.status?.details ?? []
        if !details.isEmpty {
            members.append(("details", .array(details.map { any in
                // The type without its `type.googleapis.com/` prefix; the value base64 with
                // no padding (connect-go's encoding; decoders accept both).
                let type = any.typeURL.split(separator: "/").last.map(String.init) ?? any.typeURL
                return .object([("type", .string(type)), ("value", .string(Base64.encode(any.value)))])
            })))
        }
        return .object(members)
    }

    /// The body of a unary Connect error response.
    public static func body(_ error: RPCError) -> [UInt8] {
        JSONPrinter(compact: true).printUTF8(json(error))
    }

    /// Connect streaming's end-of-stream message: `{"error": …, "metadata": {…}}`, with the
    /// trailing metadata (a value list per key).
    public static func endStream(_ error: RPCError?, trailing: [Metadata.Entry]) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if let error { members.append(("error", json(error))) }
        if !trailing.isEmpty {
            var grouped: [(String, [JSONValue])] = []
            for entry in trailing {
                if let i = grouped.firstIndex(where: { $0.0 == entry.key }) {
                    grouped[i].1.append(.string(entry.wireValue))
                } else {
                    grouped.append((entry.key, [.string(entry.wireValue)]))
                }
            }
            members.append(("metadata", .object(grouped.map { ($0.0, .array($0.1)) })))
        }
        return JSONPrinter(compact: true).printUTF8(.object(members))
    }
}
