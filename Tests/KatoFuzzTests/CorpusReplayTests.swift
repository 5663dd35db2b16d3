import Foundation
import KatoFuzz
import XCTest

/// Every committed seed (`Fuzz/Corpus/<target>/`) and crash reproducer
/// (`Fuzz/Crashes/<target>/`) through the same entry functions libFuzzer runs, in the ordinary
/// debug build: a fixed bug that comes back traps here in `make test`. (docs/FUZZING.md)
final class CorpusReplayTests: XCTestCase {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) throws -> [URL] {
        let dir = fuzzDirectory.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Replays the target's corpus (which must not be empty) and its crash reproducers.
    func replay(_ target: FuzzTarget, file: StaticString = #filePath, line: UInt = #line) throws {
        let corpus = try Self.inputs("Corpus", target)
        XCTAssertFalse(corpus.isEmpty, "no committed corpus for \(target.rawValue)", file: file, line: line)
        for url in corpus + (try Self.inputs("Crashes", target)) {
            target.run([UInt8](try Data(contentsOf: url)))
        }
    }

    /// The connection harness is synchronous: the echoed payload of a recorded grpcio unary call
    /// is in the server's output when the input returns (so the fuzzer reaches the handlers).
    func testConnectionHarnessAnswersARecordedGrpcioCallWithinTheInput() throws {
        let seed = Self.fuzzDirectory.appendingPathComponent("Corpus/connection/seed-grpcio-unary")
        let response = FuzzTarget.connection.connectionResponse([UInt8](try Data(contentsOf: seed)))
        let payload = [UInt8]([0, 1, 2]).repeated(8)
        XCTAssertTrue(response.count > payload.count && (0...(response.count - payload.count)).contains {
            Array(response[$0..<$0 + payload.count]) == payload
        }, "the echo response's payload is not in the \(response.count) bytes the server wrote")
    }

    /// The http1 harness reaches the handlers too: a Connect unary call (binary) over HTTP/1.1 is
    /// answered with 200 and the echoed message within the input.
    func testHTTP1HarnessAnswersAConnectUnaryCallWithinTheInput() throws {
        let seed = Self.fuzzDirectory.appendingPathComponent("Corpus/http1/seed-connect-proto-unary")
        let response = String(decoding: FuzzTarget.http1.connectionResponse([UInt8](try Data(contentsOf: seed))), as: UTF8.self)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200"), "the server answered: \(response.prefix(200))")
        XCTAssertTrue(response.contains("hello over http/1.1"), "the echoed message is not in: \(response.prefix(400))")
    }

    /// ... and a Connect server stream over HTTP/1.1 is whole within the input: its handler runs on
    /// the connection's event loop (not a detached task that would outlive the input), so the
    /// three messages and the end-of-stream envelope (flag 0x02, a JSON body) are all written.
    func testHTTP1HarnessFinishesAConnectServerStreamWithinTheInput() throws {
        let seed = Self.fuzzDirectory.appendingPathComponent("Corpus/http1/seed-connect-server-stream")
        let response = FuzzTarget.http1.connectionResponse([UInt8](try Data(contentsOf: seed)))
        let text = String(decoding: response, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200"), "the server answered: \(text.prefix(200))")
        let endOfStream = (0..<max(0, response.count - 5)).contains { i in
            response[i] == 0x02 && response[i + 5] == UInt8(ascii: "{")
        }
        XCTAssertTrue(endOfStream, "no end-of-stream envelope in the \(response.count) bytes written: \(text.suffix(200))")
    }

    // MARK: bugs the fuzzers found (docs/FUZZING.md), one named test each

    /// proto-json: a map field (kato.v2.ObserveRequest.metadata) that arrives with a non-length-
    /// delimited wire type printed as `"metadata": {}` — a value the encoder turns back into
    /// nothing, so the JSON changed in a round trip. Such values are dropped as unknown now.
    func testProtoToJSONDropsAMapFieldWithAWrongWireType() throws {
        try replayReproducer("proto-json/map-field-with-wrong-wire-type", .protoJSON)
    }

    /// proto-json: a google.protobuf.FieldMask path with no proto3 JSON form (here an empty one)
    /// was printed anyway (`",jky"`), and the JSON read back as a different mask. Such a path is
    /// refused now, as protobuf's own JSON printer refuses it.
    func testProtoToJSONRefusesAFieldMaskPathWithoutAJSONForm() throws {
        try replayReproducer("proto-json/field-mask-path-without-json-form", .protoJSON)
    }

    /// proto-json: the JSON → protobuf side accepted a FieldMask path that is not lowerCamelCase
    /// (`"\u{FFFD}_"`), which the decoder then refused: accepted JSON whose encoding does not
    /// decode. The encoder refuses such paths now.
    func testJSONToProtoRefusesAFieldMaskPathThatIsNotCamelCase() throws {
        try replayReproducer("proto-json/field-mask-json-path-not-camel-case", .protoJSON)
    }

    /// proto-json: a packed repeated field sent as an empty run (kato.v2.Vector.values, `0a 00`)
    /// printed as `"values": []`, which encodes to nothing. It is not printed now.
    func testProtoToJSONDoesNotPrintAnEmptyPackedRun() throws {
        try replayReproducer("proto-json/empty-packed-repeated-field", .protoJSON)
    }

    func replayReproducer(_ name: String, _ target: FuzzTarget) throws {
        let url = Self.fuzzDirectory.appendingPathComponent("Crashes").appendingPathComponent(name)
        target.run([UInt8](try Data(contentsOf: url)))
    }

    func testConnectionCorpusAndReproducersRunClean() throws { try replay(.connection) }
    func testHTTP1CorpusAndReproducersRunClean() throws { try replay(.http1) }
    func testGRPCMessagesCorpusAndReproducersRunClean() throws { try replay(.grpcMessages) }
    func testProtoJSONCorpusAndReproducersRunClean() throws { try replay(.protoJSON) }
    func testConfigFilesCorpusAndReproducersRunClean() throws { try replay(.configFiles) }
    func testRecordCodecCorpusAndReproducersRunClean() throws { try replay(.recordCodec) }
}

private extension Array {
    func repeated(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}
