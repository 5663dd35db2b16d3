import XCTest

@testable import KatoServer

/// KATO's degradation levels as health reports them: calls are served below MAINTENANCE, and
/// the placeholder provider says it is one.
final class DegradationStatusTests: XCTestCase {
    func testCallsAreServedBelowMaintenanceOnly() {
        XCTAssertTrue(DegradationStatus.normal.isReady)
        XCTAssertEqual([DegradationStatus.normal.level, 0], [0, 0])
        XCTAssertEqual(DegradationStatus.normal.name, "NORMAL")
        XCTAssertTrue(DegradationStatus(level: 2, name: "ESSENTIAL").isReady)
        XCTAssertFalse(DegradationStatus(level: 3, name: "MAINTENANCE").isReady)
    }

    func testThePlaceholderReportsNormalAndThatNoStoreIsWired() {
        let placeholder = FixedDegradationStatus().degradationStatus
        XCTAssertEqual(placeholder.level, 0)
        XCTAssertEqual(placeholder.checks["store"], "not wired (placeholder)")
        let fixed = FixedDegradationStatus(DegradationStatus(level: 1, name: "DEGRADED", checks: ["store": "slow"]))
        XCTAssertEqual(fixed.degradationStatus.checks, ["store": "slow"])
    }
}
