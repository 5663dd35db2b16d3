import KatoStore
import XCTest

@testable import KatoServer

/// The flags section's reader and validation (the live behaviour is tested through real
/// clients in Tests/python/test_feature_flags.py; the running flags in LiveFlagsTests).
final class FeatureFlagsTests: XCTestCase {
    func flags(_ json: String) throws -> FeatureFlags {
        try FeatureFlags(entries: FlagsFile.entries(Array(json.utf8), path: "f.json"), path: "f.json")
    }

    func refusal(_ text: String, path: String = "f.json") -> FlagsError? {
        do {
            _ = try FeatureFlags(entries: FlagsFile.entries(Array(text.utf8), path: path), path: path)
            return nil
        } catch {
            return error
        }
    }

    func testAbsentFlagsTakeTheirDefaults() throws {
        XCTAssertEqual(try flags(#"{"port": 1}"#), FeatureFlags())
        XCTAssertEqual(try flags(#"{"flags": {}}"#), FeatureFlags())
    }

    func testEveryFlagIsRead() throws {
        let f = try flags("""
            {"flags": {"v2_sessions": false, "auto_learn": false, "emotives": false, "predictions": false,
             "circuit_breaker": false, "rate_limits": false, "rate_limit_principal_rate": 10, "rate_limit_principal_burst": 20,
             "rate_limit_session_rate": 0.5, "rate_limit_session_burst": 1, "access_log_level": "off",
             "degradation_level": "essential", "maintenance": true}}
            """)
        XCTAssertFalse(f.v2Sessions || f.autoLearn || f.emotives || f.predictions || f.circuitBreaker || f.rateLimits)
        XCTAssertEqual(f.rateLimitPrincipalRate, 10)
        XCTAssertEqual(f.rateLimitPrincipalBurst, 20)
        XCTAssertEqual(f.rateLimitSessionRate, 0.5)
        XCTAssertEqual(f.accessLogLevel, .off)
        XCTAssertEqual(f.degradationLevel, .essential)
        XCTAssertTrue(f.maintenance)
    }

    func testRefusalsNameTheFlagAndItsPosition() {
        let unknown = refusal("{\"flags\": {\n  \"predictions\": true,\n  \"predictionz\": true\n}}")
        XCTAssertEqual(unknown?.line, 3)
        XCTAssertEqual(unknown?.column, 3)
        XCTAssertTrue(unknown?.message.contains("unknown flag 'predictionz'") ?? false)
        XCTAssertTrue(refusal(#"{"flags": {"emotives": 1}}"#)?.message.contains("must be true or false") ?? false)
        XCTAssertTrue(refusal(#"{"flags": {"rate_limit_session_rate": -1}}"#)?.message.contains("must be 0") ?? false)
        XCTAssertTrue(refusal(#"{"flags": {"rate_limit_session_burst": 0.5}}"#)?.message.contains("at least 1") ?? false)
        XCTAssertTrue(refusal(#"{"flags": {"degradation_level": "high"}}"#)?.message.contains("degradation_level") ?? false)
        XCTAssertTrue(refusal(#"{"flags": {"access_log_level": "loud"}}"#)?.message.contains("access_log_level") ?? false)
        XCTAssertTrue(refusal(#"{"flags": ["v2_sessions"]}"#)?.message.contains("must be an object") ?? false)
        XCTAssertEqual(refusal(#"{"flags": {"#)?.line, 1)
    }

    func testYAMLSectionWithLineNumbers() throws {
        let yaml = "port: 1\nflags:\n  v2_sessions: false\n  access_log_level: 'warning'\nhost: x\n"
        let f = try FeatureFlags(entries: FlagsFile.entries(Array(yaml.utf8), path: "k.yaml"), path: "k.yaml")
        XCTAssertFalse(f.v2Sessions)
        XCTAssertEqual(f.accessLogLevel, .level(.warning))
        let bad = refusal("flags:\n  v2_sessions: nope\n", path: "k.yml")
        XCTAssertEqual(bad?.line, 2)
        XCTAssertEqual(bad?.column, 3)
    }

    func testChangesListOldAndNew() {
        var new = FeatureFlags()
        new.predictions = false
        new.degradationLevel = .degraded
        let changes = FeatureFlags().changes(to: new)
        XCTAssertEqual(changes.map(\.name), ["predictions", "degradation_level"])
        XCTAssertEqual(changes.first?.old, "true")
        XCTAssertEqual(changes.first?.new, "false")
    }
}
