import Foundation
import ProtobufCBridge
import Synchronization
import XCTest

@testable import GRPCH2Core

/// Shared by the core's tests: a string echo descriptor, request bytes, and a stream owner
/// that records what a handler's task hands its transport.
enum CoreTestSupport {
    typealias Text = Google_Protobuf_StringValue

    static func text(_ value: String) -> Text {
        var message = Text()
        message.value = value
        return message
    }

    static func bytes(_ value: String) -> [UInt8] { text(value).serializedBytes() }

    static func values(_ messages: [[UInt8]]) throws -> [String] {
        try messages.map { try Text(serializedBytes: $0).value }
    }

    static func context(_ path: String, kind: CallKind = .unary, metadata: Metadata = Metadata()) -> ServerContext {
        ServerContext(path: path, requestMetadata: metadata, deadline: nil, peer: "test", kind: kind)
    }

    /// proto/descriptors.pb: kato.v2, google.rpc, health and reflection, as protoc wrote them.
    static let descriptorSet: [UInt8] = {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        return try! [UInt8](Data(contentsOf: root.appendingPathComponent("proto/descriptors.pb")))
    }()
}

/// A `ServerStreamOwner` that records every call a handler's task makes on its stream.
final class RecordingStreamOwner: ServerStreamOwner {
    struct Completion: Sendable {
        var streamID: Int32
        var messages: [[UInt8]]
        var error: RPCError?
    }

    struct Record: Sendable {
        var written: [(Int32, [UInt8])] = []
        var completions: [Completion] = []
        var framed: [(Int32, [UInt8])] = []
        var consumed: [Int32] = []
    }

    let record = Mutex(Record())
    /// Thrown by `write` once set (a call that has ended).
    let writeError = Mutex<RPCError?>(nil)

    func write(streamID: Int32, message: [UInt8]) async throws {
        if let error = writeError.withLock({ $0 }) { throw error }
        record.withLock { $0.written.append((streamID, message)) }
    }

    func complete(streamID: Int32, messages: [[UInt8]], error: RPCError?, context _: ServerContext) {
        record.withLock { $0.completions.append(Completion(streamID: streamID, messages: messages, error: error)) }
    }

    func complete(streamID: Int32, framedMessage: consuming [UInt8]) {
        let bytes = Array(framedMessage)
        record.withLock { $0.framed.append((streamID, bytes)) }
    }

    func consumed(streamID: Int32) {
        record.withLock { $0.consumed.append(streamID) }
    }

    var snapshot: Record { record.withLock { $0 } }
}
