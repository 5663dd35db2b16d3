import Foundation
import GRPCH2

/// Exit codes, as grpcurl uses them: 0 success, 1 failure (connection, unknown symbol),
/// 2 bad input (usage, JSON), 64 + the gRPC status code when the RPC fails.
enum ExitStatus {
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let rpcOffset: Int32 = 64
}

/// An error that ends the command with a message on stderr and an exit code.
struct CLIFailure: Error, CustomStringConvertible {
    let exitCode: Int32
    let message: String

    static func usage(_ message: String) -> CLIFailure { CLIFailure(exitCode: ExitStatus.usage, message: message) }
    static func failure(_ message: String) -> CLIFailure { CLIFailure(exitCode: ExitStatus.failure, message: message) }

    var description: String { message }
}

/// A failed RPC, printed as grpcurl prints it (plus the decoded status details).
struct RPCFailure: Error {
    let error: RPCError
    /// The details of `grpc-status-details-bin`, as JSON lines.
    var details: [String] = []
    var exitCode: Int32 { ExitStatus.rpcOffset + Int32(error.code.rawValue) }

    var report: String {
        var out = "ERROR:\n  Code: \(Self.goName(error.code))\n  Message: \(error.message)\n"
        if !details.isEmpty {
            out += "  Details:\n"
            for (i, d) in details.enumerated() { out += "  \(i + 1))\t\(d)\n" }
        }
        return out
    }

    /// grpc-go's `codes.Code.String()` names, which grpcurl prints.
    static func goName(_ code: StatusCode) -> String {
        let names = [
            "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
            "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
            "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
        ]
        return names.indices.contains(code.rawValue) ? names[code.rawValue] : "Code(\(code.rawValue))"
    }
}

/// Writes to stdout and stderr without buffering surprises between the two.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
