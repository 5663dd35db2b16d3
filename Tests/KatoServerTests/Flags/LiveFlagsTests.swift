import GRPCH2Core
import XCTest

@testable import KatoServer

/// The flags a running server reads on every call: one atomic word of bits, replaced as a
/// whole when the flags file changes; a switched-off feature refuses with FEATURE_DISABLED and
/// changes nothing, and predictions switched off come back empty with a trailer that says so.
final class LiveFlagsTests: XCTestCase {
    func testReplacingTheFlagsSwitchTheirBitsAndTheSessionChecks() throws {
        let live = LiveFlags()
        XCTAssertTrue(live.v2Sessions && live.predictions)
        var off = FeatureFlags()
        off.v2Sessions = false
        live.replace(with: off)
        XCTAssertFalse(live.v2Sessions)
        XCTAssertTrue(live.predictions)
        XCTAssertThrowsError(try live.checkSessionService())
        XCTAssertNoThrow(try live.checkSessions(""))
        XCTAssertThrowsError(try live.checkSessions("session-1"))
    }

    func testReplaceReturnsThePreviousFlagsAndCurrentTheNew() {
        var off = FeatureFlags()
        off.emotives = false
        let live = LiveFlags(off)
        var next = FeatureFlags()
        next.autoLearn = false
        let old = live.replace(with: next)
        XCTAssertEqual(old, off)
        XCTAssertEqual(live.current, next)
        XCTAssertTrue(live.emotives)
        XCTAssertFalse(live.autoLearn)
    }

    func testEmotivesSwitchedOffRefuseOnlyCallsThatCarryThem() {
        var off = FeatureFlags()
        off.emotives = false
        let live = LiveFlags(off)
        XCTAssertNoThrow(try live.checkEmotives(false))
        XCTAssertThrowsError(try live.checkEmotives(true)) { error in
            XCTAssertEqual((error as? KatoError)?.reason, "FEATURE_DISABLED")
            XCTAssertEqual((error as? KatoError)?.rpcError.code, .unimplemented)
        }
    }

    func testPredictionsSwitchedOffAreEmptyWithTheTrailer() {
        let context = ServerContext(path: "/kato.v2.PredictService/GetPredictions", requestMetadata: Metadata(), deadline: nil, peer: "t")
        let live = LiveFlags()
        XCTAssertEqual(live.visiblePredictions([1, 2], context), [1, 2])
        XCTAssertNil(context.call.state.withLock { $0.trailing }.firstString(forKey: "kato-predictions"))
        var off = FeatureFlags()
        off.predictions = false
        live.replace(with: off)
        XCTAssertEqual(live.visiblePredictions([1, 2], context), [])
        XCTAssertEqual(context.call.state.withLock { $0.trailing }.firstString(forKey: "kato-predictions"), "disabled")
    }
}
