import GRPCH2
import KatoProto
import KatoSupport
import Synchronization
import XCTest

@testable import KatoServer

/// The access-log line reaches the log backend through a `LogLineSink` (no downcast of the
/// swift-log handler): one line per call, in `StreamLogHandler`'s format.
final class TraceInterceptorTests: XCTestCase {
    final class RecordingSink: LogLineSink {
        let lines = Mutex<[String]>([])
        func appendLine(_ body: (inout [UInt8], _ timestamp: [UInt8]) -> Void) -> Bool {
            var bytes: [UInt8] = []
            body(&bytes, Array("TS".utf8))
            lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) }
            return true
        }
    }

    func testEachCallWritesOneAccessLineThroughTheSinkWithItsStatusAndTraceID() async throws {
        let sink = RecordingSink()
        let kato = try InProcessKato { c in
            c.accessLogLevel = .info
            c.accessLogSink = sink
        }
        var read = Kato_V2_GetShortTermMemoryRequest()
        read.sessionID = "missing"
        let (_, outcome) = await kato.unary(Kato_V2_ObserveService.getShortTermMemory, read)
        let trace = try XCTUnwrap(outcome.trailingMetadata.firstString(forKey: "x-trace-id"))
        let lines = sink.lines.withLock { $0 }
        XCTAssertEqual(lines.count, 1)
        let line = try XCTUnwrap(lines.first)
        XCTAssertTrue(line.hasPrefix("TS info test: duration_ms="), line)
        XCTAssertTrue(line.contains(" method=/kato.v2.ObserveService/GetShortTermMemory node_id= peer=in-process principal= protocol=grpc session_id= status=NOT_FOUND trace_id=\(trace) [KatoServer] call\n"), line)
    }

    func testWithoutASinkNoLineIsFormattedHere() async throws {
        let kato = try InProcessKato { c in c.accessLogLevel = .info }
        let trace = kato.app.server.router.interceptors.flatMap(\.members).compactMap { $0 as? TraceInterceptor }.first
        XCTAssertNotNil(trace)
        XCTAssertNil(trace?.directLog, "the line goes through the Logger")
    }
}
