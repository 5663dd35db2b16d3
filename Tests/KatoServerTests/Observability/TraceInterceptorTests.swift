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

/// The access-log line's `duration_ms` field, written digit by digit.
final class TraceInterceptorAccessLineTests: XCTestCase {
    func milliseconds(_ nanoseconds: Int64) -> String {
        var bytes: [UInt8] = []
        TraceInterceptor.appendMilliseconds(nanoseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func testDurationIsMillisecondsWithThreeDecimals() {
        XCTAssertEqual(milliseconds(412_345), "0.412")
        XCTAssertEqual(milliseconds(0), "0.000")
        XCTAssertEqual(milliseconds(999), "0.000", "below a microsecond rounds down")
        XCTAssertEqual(milliseconds(1_005_000), "1.005")
        XCTAssertEqual(milliseconds(12_345_678_901), "12345.678")
    }

    func testNegativeDurationIsZero() {
        XCTAssertEqual(milliseconds(-5), "0.000")
    }
}
