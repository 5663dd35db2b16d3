import XCTest

@testable import KatoObservability

/// Counters whose increments land in per-thread shards and are summed when scraped: the same
/// totals and the same text as a single-atomic Prometheus counter.
final class ShardedCountersTests: XCTestCase {
    static func text(_ counters: ShardedCounters) -> String {
        var buffer: [UInt8] = []
        counters.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func testIncrementsFromManyThreadsAllCount() async {
        let counters = ShardedCounters()
        let counter = counters.counter(name: "calls_total", labels: [])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<1000 { counter.increment(by: 1) } }
            }
        }
        Thread.detachNewThread { counter.increment(by: 5) }
        for _ in 0..<200 where counter.value < 8005 { try? await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(counter.value, 8005)
    }

    func testOneCounterPerNameAndLabelsWrittenUnderOneTypeLine() {
        let counters = ShardedCounters()
        let ok = counters.counter(name: "handled_total", labels: [("code", "OK")])
        XCTAssertTrue(counters.counter(name: "handled_total", labels: [("code", "OK")]) === ok, "the same pair: the same counter")
        let failed = counters.counter(name: "handled_total", labels: [("code", "INTERNAL")])
        let plain = counters.counter(name: "started_total", labels: [])
        ok.increment(by: 2)
        failed.increment(by: 1)
        plain.increment(by: 3)
        XCTAssertEqual(Self.text(counters), """
            # TYPE handled_total counter
            handled_total{code="OK"} 2
            handled_total{code="INTERNAL"} 1
            # TYPE started_total counter
            started_total 3

            """)
    }

    func testLabelValuesAreEscapedAsPrometheusReadsThem() {
        let counters = ShardedCounters()
        counters.counter(name: "c", labels: [("path", "a\"b\\c\nd")]).increment(by: 1)
        XCTAssertEqual(Self.text(counters), "# TYPE c counter\nc{path=\"a\\\"b\\\\c\\nd\"} 1\n")
    }

    func testResetZeroesAndRemoveDropsTheCounter() {
        let counters = ShardedCounters()
        let a = counters.counter(name: "a", labels: [])
        a.increment(by: 4)
        a.reset()
        XCTAssertEqual(a.value, 0)
        counters.remove(a)
        XCTAssertEqual(Self.text(counters), "")
    }
}
