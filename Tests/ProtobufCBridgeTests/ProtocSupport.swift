import Foundation
import XCTest

/// Runs the `protoc` compiler's text-format encoder and decoder: an encoder independent of
/// protobuf-c, to prove byte-level compatibility in both directions.
enum Protoc {
    /// The repository root (three levels above this file).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Include roots and files of the protos the tests use.
    static let katoProtos = (root.appendingPathComponent("proto").path, ["kato/v2/observe.proto", "kato/v2/session.proto", "kato/v2/predict.proto"])
    static let googleProtos = (root.appendingPathComponent("proto").path, ["google/protobuf/struct.proto", "google/rpc/status.proto", "google/rpc/error_details.proto", "grpc/reflection/v1/reflection.proto", "grpc/health/v1/health.proto"])
    static let echoProtos = (root.appendingPathComponent("Tests/EchoProtoC/proto").path, ["grpch2/test/echo.proto"])

    /// `protoc --encode=TYPE`: text format in, wire bytes out.
    static func encode(_ type: String, _ text: String, protos: (String, [String])) throws -> [UInt8] {
        try run(["--encode=\(type)", "-I", protos.0] + protos.1, input: Array(text.utf8))
    }

    /// `protoc --decode=TYPE`: wire bytes in, text format out.
    static func decode(_ type: String, _ bytes: [UInt8], protos: (String, [String])) throws -> String {
        String(decoding: try run(["--decode=\(type)", "-I", protos.0] + protos.1, input: bytes), as: UTF8.self)
    }

    private static func run(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        guard let protoc = executable() else {
            // scripts/install-deps installs protoc; under CI=true its absence fails the run.
            if ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") { throw ProtocMissing() }
            throw XCTSkip("protoc is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: protoc)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ProtocError(message: "protoc \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return Array(output)
    }

    private static func executable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/protoc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct ProtocError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

struct ProtocMissing: Error, CustomStringConvertible {
    var description: String { "protoc is not installed (CI=true: a tool a test needs fails the run)" }
}
